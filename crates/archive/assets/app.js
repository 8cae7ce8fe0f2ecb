// Archive's pages: the player and its queue, the playlist picker, reordering
// playlists by drag, and error messages for requests made in the background.
//
// The one <audio> element lives outside <main>, the part of the page that
// navigation replaces, so music keeps playing while the user browses. A song
// counts as played (POST /api/v1/songs/{id}/play) once half of it, or 30
// seconds, has played.
"use strict";

const player = { queue: [], index: -1, counted: false };

const byId = (id) => document.getElementById(id);
const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

// A song row carries its id, title and artist; `data-playable` marks a song
// this server can play (its file is here, or on a master it plays through).
const songOf = (row) => ({ id: row.dataset.song, title: row.dataset.title, artist: row.dataset.artist || "" });
const playableRows = (list) => (list ? Array.from(list.querySelectorAll("tr[data-song][data-playable]")) : []);
const describe = (song) => song.title + (song.artist ? " · " + song.artist : "");

function start(index) {
  if (index < 0 || index >= player.queue.length) return;
  const audio = byId("audio");
  const song = player.queue[index];
  player.index = index;
  player.counted = false;
  audio.src = "/api/v1/songs/" + encodeURIComponent(song.id) + "/stream";
  byId("now-playing").textContent = describe(song);
  audio.play().catch(() => {
    byId("now-playing").textContent = "Could not play " + song.title;
  });
  showQueue();
}

function idle() {
  const audio = byId("audio");
  return player.index < 0 || audio.ended || (audio.paused && audio.currentTime === 0);
}

function enqueue(song) {
  player.queue.push(song);
  if (idle()) start(player.queue.length - 1);
  else showQueue();
  flash("Added “" + song.title + "” to the queue.", "notice");
}

function showQueue() {
  const list = byId("queue-list");
  list.replaceChildren(
    ...player.queue.map((song, i) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.queueIndex = String(i);
      button.textContent = describe(song);
      if (i === player.index) button.setAttribute("aria-current", "true");
      item.append(button);
      return item;
    }),
  );
  byId("queue-count").textContent = String(player.queue.length);
}

// A short message at the top of the page: what went wrong in the background.
let flashTimer = null;
function flash(text, kind) {
  const box = byId("flash");
  box.textContent = text;
  box.className = "flash " + (kind || "error");
  box.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (box.hidden = true), 6000);
}

// The message of an error answer: an error page's text or the API's JSON.
function errorMessage(xhr) {
  try {
    const body = JSON.parse(xhr.responseText);
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) {
    const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    const text = page.querySelector("p");
    if (text && text.textContent) return text.textContent;
  }
  return "The server answered " + xhr.status + ".";
}

document.addEventListener("click", (event) => {
  const target = event.target;
  const play = target.closest("[data-play]");
  if (play) {
    // Play this song and queue the playable songs after it in its list.
    const row = play.closest("tr[data-song]");
    if (!row) return;
    const rows = playableRows(row.closest(".song-list"));
    const at = rows.indexOf(row);
    if (at < 0) player.queue = [songOf(row)];
    else player.queue = rows.map(songOf);
    start(Math.max(at, 0));
    return;
  }
  const playAll = target.closest("[data-play-all]");
  if (playAll) {
    const rows = playableRows(playAll.closest(".song-list"));
    if (rows.length === 0) {
      flash("None of these songs is on this server.");
      return;
    }
    player.queue = rows.map(songOf);
    start(0);
    return;
  }
  const queue = target.closest("[data-queue]");
  if (queue) {
    const row = queue.closest("tr[data-song]");
    if (row) enqueue(songOf(row));
    return;
  }
  const jump = target.closest("[data-queue-index]");
  if (jump) {
    start(Number(jump.dataset.queueIndex));
    return;
  }
  if (target.closest("#next")) start(player.index + 1);
  if (target.closest("#previous")) {
    const audio = byId("audio");
    if (audio.currentTime > 3 || player.index <= 0) audio.currentTime = 0;
    else start(player.index - 1);
  }
  if (target.closest("#queue-clear")) {
    // The song playing stays; what would come after it goes.
    player.queue = player.index >= 0 ? [player.queue[player.index]] : [];
    player.index = player.queue.length - 1;
    showQueue();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  const audio = byId("audio");
  if (!audio) return;
  audio.addEventListener("ended", () => start(player.index + 1));
  audio.addEventListener("timeupdate", () => {
    const song = player.queue[player.index];
    if (!song || player.counted || !isFinite(audio.duration)) return;
    if (audio.currentTime < Math.min(30, audio.duration / 2)) return;
    player.counted = true;
    fetch("/api/v1/songs/" + encodeURIComponent(song.id) + "/play", {
      method: "POST",
      headers: { "X-CSRF-Token": csrfToken() },
    });
  });
});

// htmx: show error pages in <main>; for the small controls (a star, a
// rating, the playlist picker) say what went wrong instead.
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.status < 400) return;
  if (event.detail.target && event.detail.target.id === "main") {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  } else {
    flash(errorMessage(xhr));
  }
});
document.addEventListener("htmx:sendError", () => flash("The server cannot be reached."));
document.addEventListener("htmx:afterSwap", (event) => {
  const picker = byId("picker");
  if (event.detail.target && event.detail.target.id === "picker-body" && !picker.open) picker.showModal();
});

// Drag a playlist's row onto another to move it there (the ↑ and ↓ buttons
// do the same from the keyboard).
let dragged = null;
document.addEventListener("dragstart", (event) => {
  const row = event.target.closest && event.target.closest("tr[data-entry]");
  // Only the owner's rows are draggable; a link dragged elsewhere is not a move.
  if (!row || row.getAttribute("draggable") !== "true") return;
  dragged = row;
  event.dataTransfer.effectAllowed = "move";
  event.dataTransfer.setData("text/plain", row.dataset.entry);
});
document.addEventListener("dragover", (event) => {
  if (dragged && event.target.closest && event.target.closest("tr[data-entry]")) event.preventDefault();
});
document.addEventListener("dragend", () => (dragged = null));
document.addEventListener("drop", (event) => {
  const row = event.target.closest && event.target.closest("tr[data-entry]");
  const moving = dragged;
  dragged = null;
  if (!moving || !moving.isConnected || !row || row === moving) return;
  event.preventDefault();
  const list = row.closest("#playlist-entries");
  const path = "/playlists/" + list.dataset.playlist + "/entries/" + moving.dataset.entry + "/move";
  htmx.ajax("POST", path, {
    target: "#playlist-entries",
    select: "#playlist-entries",
    swap: "outerHTML show:none",
    values: { csrf: csrfToken(), position: row.dataset.position, cursor: list.dataset.cursor || "" },
  });
});

// The upload page: each file is its own upload, so one refused file does
// not hold back the others; each gets a row with its progress and result.
function uploadOne(file, row) {
  const sent = row.querySelector("progress");
  const result = row.querySelector(".result");
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/songs");
    request.setRequestHeader("X-CSRF-Token", csrfToken());
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) sent.value = event.loaded / event.total;
    });
    request.addEventListener("load", () => {
      sent.value = 1;
      if (request.status === 201) {
        const answer = JSON.parse(request.responseText);
        if (answer.failed && answer.failed.length) {
          result.textContent = "Not imported: " + answer.failed[0].error;
          resolve("failed");
        } else if (answer.imported > 0) {
          const song = answer.songs[0];
          result.textContent = "Added" + (song ? ": " + song.title : "");
          resolve("added");
        } else {
          result.textContent = "Already in the library";
          resolve("known");
        }
      } else {
        result.textContent = "Refused: " + errorMessage(request);
        resolve("failed");
      }
      row.dataset.outcome = result.textContent;
    });
    request.addEventListener("error", () => {
      result.textContent = "The server cannot be reached.";
      row.dataset.outcome = result.textContent;
      resolve("failed");
    });
    const body = new FormData();
    body.append("file", file, file.name);
    request.send(body);
  });
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.id !== "upload-form") return;
  event.preventDefault();
  const files = Array.from(form.querySelector("input[type=file]").files);
  if (files.length === 0) return;
  const report = byId("upload-report");
  const rows = report.querySelector("tbody");
  report.hidden = false;
  const button = form.querySelector("button");
  button.disabled = true;
  const counts = { added: 0, known: 0, failed: 0 };
  byId("upload-summary").textContent = "Uploading " + files.length + " file" + (files.length === 1 ? "" : "s") + "…";
  const pending = files.map((file) => {
    const row = document.createElement("tr");
    const name = document.createElement("td");
    name.textContent = file.name;
    const progress = document.createElement("td");
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", "Sent of " + file.name);
    progress.append(bar);
    const result = document.createElement("td");
    result.className = "result";
    result.textContent = "Waiting";
    row.append(name, progress, result);
    rows.append(row);
    return [file, row];
  });
  for (const [file, row] of pending) {
    row.querySelector(".result").textContent = "Sending";
    counts[await uploadOne(file, row)] += 1;
  }
  byId("upload-summary").textContent =
    "Done: " + counts.added + " added, " + counts.known + " already in the library, " + counts.failed + " not imported.";
  button.disabled = false;
  form.reset();
});

// "Copy" beside a secret shown once (a new slave key).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  field.select();
  const copied = () => (button.textContent = "Copied");
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(copied, () => document.execCommand("copy") && copied());
  } else if (document.execCommand("copy")) {
    copied();
  }
});

// A secret shown once is selected whole when clicked, ready to copy.
document.addEventListener("click", (event) => {
  const field = event.target.closest("[data-select-on-click]");
  if (field) field.select();
});

// A cover that cannot be loaded (an album without one) is hidden, not shown
// broken. Load errors do not bubble, so this listens as they go down.
document.addEventListener(
  "error",
  (event) => {
    if (event.target instanceof HTMLImageElement && event.target.classList.contains("cover")) {
      event.target.style.visibility = "hidden";
    }
  },
  true,
);
