// Archive's player: a play button anywhere sets the one <audio> element,
// which lives outside the part of the page that navigation replaces, so
// music keeps playing while the user browses. A song counts as played
// (POST /api/v1/songs/{id}/play) once half of it, or 30 seconds, has played.
"use strict";

let current = null;

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-play]");
  if (!button) return;
  const audio = document.getElementById("audio");
  current = { id: button.dataset.play, counted: false };
  audio.src = "/api/v1/songs/" + encodeURIComponent(current.id) + "/stream";
  const artist = button.dataset.artist ? " · " + button.dataset.artist : "";
  document.getElementById("now-playing").textContent = button.dataset.title + artist;
  audio.play().catch(() => {
    document.getElementById("now-playing").textContent = "Could not play " + button.dataset.title;
  });
});

document.addEventListener("DOMContentLoaded", () => {
  const audio = document.getElementById("audio");
  if (!audio) return;
  audio.addEventListener("timeupdate", () => {
    if (!current || current.counted || !isFinite(audio.duration)) return;
    if (audio.currentTime < Math.min(30, audio.duration / 2)) return;
    current.counted = true;
    const token = document.querySelector('meta[name="csrf-token"]').content;
    fetch("/api/v1/songs/" + encodeURIComponent(current.id) + "/play", {
      method: "POST",
      headers: { "X-CSRF-Token": token },
    });
  });
});
