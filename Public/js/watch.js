// The watch page's player: show a clear message when the browser cannot play the file.
const video = document.getElementById('player');
const message = document.getElementById('player-error');
if (video && message) {
  const source = video.querySelector('source');
  const fail = () => { message.hidden = false; };
  video.addEventListener('error', fail);
  if (source) source.addEventListener('error', fail);
}
