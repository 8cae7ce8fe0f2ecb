// Archive's player: a play button anywhere sets the one <audio> element,
// which lives outside the part of the page that navigation replaces, so
// music keeps playing while the user browses.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-play]");
  if (!button) return;
  const audio = document.getElementById("audio");
  audio.src = "/api/v1/songs/" + encodeURIComponent(button.dataset.play) + "/stream";
  const artist = button.dataset.artist ? " · " + button.dataset.artist : "";
  document.getElementById("now-playing").textContent = button.dataset.title + artist;
  audio.play().catch(() => {
    document.getElementById("now-playing").textContent = "Could not play " + button.dataset.title;
  });
});
