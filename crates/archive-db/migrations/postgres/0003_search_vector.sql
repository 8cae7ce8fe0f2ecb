-- Keep each search document's tsvector in a stored column. Computing it
-- from the text at query time (through the expression index's recheck and
-- ts_rank) cost up to 200 ms for a short prefix that matches thousands of
-- documents; read from the column it is a few milliseconds.

ALTER TABLE search_documents
    ADD COLUMN vector tsvector GENERATED ALWAYS AS (archive_search_vector(name, context)) STORED;

DROP INDEX search_documents_vector;
CREATE INDEX search_documents_vector ON search_documents USING gin (vector);
