// Live chat (protocol: docs/CHAT.md). One module for the live page, the channel page, the pop-out window, the OBS
// overlay and a replay's chat. Every piece of user text goes through textContent: no HTML from users, ever.

const MAX_LINES = 300;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// The line's text, with @mentions of the reader highlighted (spans made from text, never parsed HTML).
function textNodes(text, me) {
  const out = document.createDocumentFragment();
  const pattern = /@([A-Za-z0-9_.-]{3,30})/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) out.append(document.createTextNode(text.slice(last, match.index)));
    const mention = el('span', 'mention', match[0]);
    if (me && match[1].toLowerCase() === me.toLowerCase()) mention.classList.add('me');
    out.append(mention);
    last = match.index + match[0].length;
  }
  if (last < text.length) out.append(document.createTextNode(text.slice(last)));
  return out;
}

function lineFor(message, me, actions) {
  const li = el('li', 'chat-line');
  li.dataset.id = String(message.id);
  li.dataset.userId = String(message.user.id);
  const time = el('time', 'chat-time', message.offset !== undefined && message.offset !== null ? offsetText(message.offset) : clock(message.sent_at));
  time.dateTime = message.sent_at;
  time.title = new Date(message.sent_at).toLocaleString();
  li.append(time, ' ');
  for (const badge of message.user.badges || []) li.append(el('span', `chat-badge ${badge}`, badge === 'owner' ? 'Owner' : badge === 'moderator' ? 'Mod' : 'Admin'), ' ');
  li.append(el('strong', 'chat-name', message.user.display_name || message.user.username), ' ');
  const body = el('span', 'chat-text');
  body.append(textNodes(message.text, me && me.username));
  if (me && me.username && new RegExp(`@${me.username.replace(/[.]/g, '\\.')}\\b`, 'i').test(message.text)) li.classList.add('mentions-me');
  li.append(body);
  if (actions) li.append(actions(message));
  return li;
}

function offsetText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + `:${String(r).padStart(2, '0')}`;
}

// A live chat on `root` (a .chat element with data-channel-id). Dispatches `chat:viewers` and `chat:live` on
// document for the page around it.
export function mountChat(root) {
  const channelID = root.dataset.channelId;
  const overlay = root.dataset.overlay === 'true';
  const lines = root.querySelector('.chat-lines');
  const state = root.querySelector('.chat-state');
  const note = root.querySelector('.chat-note');
  const form = root.querySelector('.chat-form');
  const input = form && form.querySelector('input[name=text]');
  let socket = null, me = null, canModerate = false, lastID = 0, attempt = 0, retryTimer = null, noteTimer = null;

  function setState(text, kind) {
    if (!state) return;
    state.textContent = text;
    state.dataset.kind = kind || '';
  }

  function showNote(text, kind, seconds) {
    if (!note) return;
    clearInterval(noteTimer);
    note.dataset.kind = kind || '';
    if (!seconds) { note.textContent = text; return; }
    let left = seconds;
    const tick = () => { note.textContent = left > 0 ? `${text} (${left} s)` : ''; left -= 1; if (left < 0) clearInterval(noteTimer); };
    tick();
    noteTimer = setInterval(tick, 1000);
  }

  function act(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function actions(message) {
    if (!canModerate || overlay || (me && message.user.id === me.id)) return document.createTextNode('');
    const box = el('span', 'chat-actions');
    const add = (label, frame, confirmText) => {
      const b = el('button', 'linkish', label);
      b.type = 'button';
      b.addEventListener('click', () => { if (!confirmText || confirm(confirmText)) act(frame); });
      box.append(b);
    };
    add('Delete', { type: 'delete', id: message.id });
    add('Time out', { type: 'timeout', user_id: message.user.id, seconds: 600 }, `Time out ${message.user.username} for 10 minutes?`);
    add('Ban', { type: 'ban', user_id: message.user.id }, `Ban ${message.user.username} from this chat?`);
    return box;
  }

  function add(message) {
    if (lines.querySelector(`[data-id="${message.id}"]`)) return;
    const stick = lines.scrollHeight - lines.scrollTop - lines.clientHeight < 40;
    const line = lineFor(message, me, actions);
    // In id order: a catch-up after a reconnect may interleave with live lines.
    let after = null;
    for (let node = lines.lastElementChild; node; node = node.previousElementSibling) {
      if (Number(node.dataset.id) < message.id) { after = node; break; }
    }
    if (after) after.after(line); else lines.prepend(line);
    lastID = Math.max(lastID, message.id);
    while (lines.children.length > MAX_LINES) lines.firstElementChild.remove();
    if (stick || overlay) lines.scrollTop = lines.scrollHeight;
    if (overlay) setTimeout(() => line.classList.add('fading'), 30000);
  }

  function hello(frame) {
    me = frame.you;
    canModerate = frame.can_moderate;
    root.dataset.live = String(frame.live);
    document.dispatchEvent(new CustomEvent('chat:viewers', { detail: frame.viewers }));
    document.dispatchEvent(new CustomEvent('chat:live', { detail: frame.live }));
    if (!form) return;
    form.hidden = !frame.can_send;
    if (!me) showNote('Sign in to chat.', 'info');
    else if (frame.reason) showNote(frame.reason.message, 'error', frame.reason.retry_after);
    else if (frame.slow_mode_seconds > 0) showNote(`Slow mode: one message every ${frame.slow_mode_seconds} s.`, 'info');
    else showNote('');
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const since = lastID ? `?since=${lastID}` : '';
    setState(attempt ? 'Reconnecting…' : 'Connecting…', 'wait');
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/channels/${channelID}/chat${since}`);
    socket.onopen = () => { attempt = 0; setState('Connected', 'ok'); };
    socket.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      switch (frame.type) {
        case 'hello': hello(frame); break;
        case 'message': add(frame); break;
        case 'delete': lines.querySelector(`[data-id="${frame.id}"]`)?.remove(); break;
        case 'clear': lines.querySelectorAll(`[data-user-id="${frame.user_id}"]`).forEach((n) => n.remove()); break;
        case 'viewers': document.dispatchEvent(new CustomEvent('chat:viewers', { detail: frame.count })); break;
        case 'live': root.dataset.live = String(frame.live); document.dispatchEvent(new CustomEvent('chat:live', { detail: frame.live })); break;
        case 'error':
          showNote(frame.message, 'error', frame.retry_after);
          if (form && ['banned', 'followers_only', 'unauthorized'].includes(frame.code)) form.hidden = true;
          break;
      }
    };
    socket.onclose = () => {
      socket = null;
      attempt += 1;
      const wait = Math.min(30, 2 ** Math.min(attempt, 5)) * (0.75 + Math.random() / 2);
      setState(`Disconnected — reconnecting in ${Math.round(wait)} s`, 'error');
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, wait * 1000);
    };
  }

  if (form && input) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if (!socket || socket.readyState !== WebSocket.OPEN) { showNote('Not connected yet; try again in a moment.', 'error'); return; }
      socket.send(JSON.stringify({ type: 'send', text }));
      input.value = '';
    });
  }
  connect();
  return { get socket() { return socket; } };
}

// A replay's chat: the broadcast's lines appear as the video reaches them, seeking included.
export async function mountReplayChat(root, video) {
  const lines = root.querySelector('.chat-lines');
  const state = root.querySelector('.chat-state');
  const response = await fetch(`/api/v1/videos/${root.dataset.videoId}/chat`);
  if (!response.ok) { root.hidden = true; return; }
  const messages = (await response.json()).data;
  if (state) state.textContent = messages.length ? `${messages.length} messages from the live chat` : 'Nobody chatted during this broadcast.';
  let shown = 0; // messages[0..shown) are on screen
  const render = () => {
    const t = video.currentTime;
    let upTo = 0;
    let lo = 0, hi = messages.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (messages[mid].offset <= t) lo = mid + 1; else hi = mid; }
    upTo = lo;
    if (upTo === shown) return;
    if (upTo < shown || upTo - shown > MAX_LINES) {
      lines.replaceChildren();
      for (const m of messages.slice(Math.max(0, upTo - MAX_LINES), upTo)) lines.append(lineFor(m, null, null));
    } else {
      for (const m of messages.slice(shown, upTo)) lines.append(lineFor(m, null, null));
      while (lines.children.length > MAX_LINES) lines.firstElementChild.remove();
    }
    shown = upTo;
    lines.scrollTop = lines.scrollHeight;
  };
  video.addEventListener('timeupdate', render);
  video.addEventListener('seeked', render);
  render();
}

const live = document.querySelector('.chat[data-channel-id]');
if (live) mountChat(live);
const replay = document.querySelector('.chat[data-video-id]');
const replayVideo = document.querySelector('video');
if (replay && replayVideo) mountReplayChat(replay, replayVideo);
