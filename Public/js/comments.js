// The watch page's comments: read from GET /api/v1/videos/{id}/comments, written through the same API.
// Every piece of user text goes into the page as text (textContent), never as markup; web addresses become links
// only in comments a moderator approved (the API's `links`).
import { openReport } from './report.js';

const section = document.getElementById('comments');
if (section) mount(section);

function csrf() {
  return document.querySelector('meta[name=csrf-token]')?.content || '';
}

async function call(url, method, body) {
  const response = await fetch(url, {
    method, credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf(), Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.reason || `That did not work (${response.status}).`);
  return answer;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, onClick, className = 'linkish') {
  const b = el('button', className, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** "3 minutes ago" and the like. */
function age(iso) {
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  const steps = [[31536000, 'year'], [2592000, 'month'], [604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, name] of steps) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'} ago`;
  }
  return 'just now';
}

/** The comment's text as text nodes, with http(s) addresses as links when `links` is true. */
function fillBody(node, text, links) {
  node.textContent = '';
  if (!links) { node.textContent = text; return; }
  const pattern = /https?:\/\/[^\s<>"]+/gi;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    let address = match[0];
    while (/[.,;:!?)\]']$/.test(address)) address = address.slice(0, -1);
    node.append(text.slice(at, match.index));
    const a = el('a', 'link', address);
    a.href = address;
    a.rel = 'nofollow ugc noopener';
    a.target = '_blank';
    node.append(a);
    at = match.index + address.length;
  }
  node.append(text.slice(at));
}

function mount(root) {
  const api = root.dataset.api;
  const loginURL = root.dataset.login || '/login';
  const state = { sort: 'top', page: 1, info: null };

  const title = root.querySelector('h2') || el('h2');
  const bar = el('div', 'comments-bar');
  const sortLabel = el('label', 'comments-sort', 'Sort by ');
  const sort = el('select');
  for (const [value, label] of [['top', 'Top'], ['newest', 'Newest']]) {
    const option = el('option', '', label);
    option.value = value;
    sort.append(option);
  }
  sortLabel.append(sort);
  bar.append(sortLabel);
  const compose = el('div', 'comment-compose');
  const error = el('p', 'form-errors');
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const notice = el('p', 'notice comment-notice');
  notice.setAttribute('role', 'status');
  notice.hidden = true;
  const list = el('ol', 'comment-list');
  const more = button('More comments', () => load(state.page + 1), 'chip');
  more.hidden = true;
  root.append(bar, compose, error, notice, list, more);

  sort.addEventListener('change', () => { state.sort = sort.value; load(1); });

  function fail(err) {
    error.textContent = err.message;
    error.hidden = false;
  }

  function say(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  /** A textarea with a submit button; `send(text)` returns a promise. */
  function editor(placeholder, label, initial, send, onCancel) {
    const form = el('form', 'comment-form');
    const area = el('textarea');
    area.name = 'body';
    area.rows = 2;
    area.maxLength = 2000;
    area.placeholder = placeholder;
    area.setAttribute('aria-label', placeholder);
    area.value = initial || '';
    const submit = el('button', 'button primary', label);
    submit.type = 'submit';
    form.append(area);
    const actions = el('div', 'comment-form-actions');
    if (onCancel) actions.append(button('Cancel', onCancel, 'button'));
    actions.append(submit);
    form.append(actions);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!area.value.trim()) return;
      submit.disabled = true;
      error.hidden = true;
      try {
        await send(area.value);
        area.value = '';
      } catch (err) {
        fail(err);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  function renderCompose(info) {
    compose.textContent = '';
    if (info.policy === 'off' && !info.can_moderate) {
      compose.append(el('p', 'muted', 'Comments are turned off.'));
      return;
    }
    if (!info.can_comment) {
      const p = el('p', 'muted');
      const a = el('a', 'link', 'Sign in');
      a.href = loginURL;
      p.append(a, ' to comment.');
      compose.append(p);
      return;
    }
    compose.append(editor('Add a comment…', 'Comment', '', (text) => post(text, null)));
    if (info.held_for_review) compose.append(el('p', 'muted', 'Your comments wait for the channel owner’s approval before others see them.'));
  }

  async function post(text, parentID) {
    const made = await call(api, 'POST', parentID ? { body: text, parent_id: parentID } : { body: text });
    say(made.held ? 'Thanks! Your comment will show to others once the channel owner approves it.' : '');
    await load(1);
  }

  function renderComment(c, info, isReply) {
    const item = el('li', 'comment' + (c.held ? ' held' : '') + (c.pinned ? ' pinned' : ''));
    item.dataset.commentId = String(c.id);
    const head = el('div', 'comment-head');
    head.append(el('strong', 'comment-author', c.author.username), ' ');
    const time = el('time', 'muted', age(c.created_at));
    time.dateTime = c.created_at;
    head.append(time);
    if (c.edited) head.append(' ', el('span', 'muted', '(edited)'));
    if (c.pinned) head.append(' ', el('span', 'badge', 'Pinned'));
    if (c.held) head.append(' ', el('span', 'badge held-badge', 'Held for review'));
    const body = el('p', 'comment-body');
    fillBody(body, c.body, c.links);
    const actions = el('div', 'comment-actions');
    item.append(head, body, actions);

    if (!isReply && info.can_comment && !c.held) {
      actions.append(button('Reply', () => {
        if (item.querySelector(':scope > .comment-form')) return;
        const form = editor('Add a reply…', 'Reply', '', (text) => post(text, c.id), () => form.remove());
        item.insertBefore(form, replies);
        form.querySelector('textarea').focus();
      }));
    }
    if (c.can_edit) {
      actions.append(button('Edit', () => {
        const form = editor('Edit your comment', 'Save', c.body, async (text) => {
          await call(`/api/v1/comments/${c.id}`, 'PATCH', { body: text });
          await load(1);
        }, () => { form.remove(); body.hidden = false; });
        body.hidden = true;
        item.insertBefore(form, actions);
      }));
    }
    if (c.can_delete) {
      actions.append(button('Delete', async () => {
        if (!confirm(c.reply_count ? 'Delete this comment and its replies?' : 'Delete this comment?')) return;
        try { await call(`/api/v1/comments/${c.id}`, 'DELETE'); await load(1); } catch (err) { fail(err); }
      }));
    }
    if (info.can_moderate && c.held) {
      actions.append(button('Approve', async () => {
        try { await call(`/api/v1/comments/${c.id}/approve`, 'POST'); await load(1); } catch (err) { fail(err); }
      }));
    }
    if (info.can_moderate && !isReply && !c.held) {
      actions.append(button(c.pinned ? 'Unpin' : 'Pin', async () => {
        try { await call(`/api/v1/comments/${c.id}`, 'PATCH', { pinned: !c.pinned }); await load(1); } catch (err) { fail(err); }
      }));
    }
    if (!c.can_edit) {
      actions.append(button('Report', () => openReport('comment', c.id, loginURL)));
    }
    const replies = el('ol', 'comment-replies');
    for (const reply of c.replies || []) replies.append(renderComment(reply, info, true));
    item.append(replies);
    return item;
  }

  async function load(page) {
    try {
      const info = await call(`${api}?sort=${state.sort}&page=${page}`, 'GET');
      state.page = page;
      state.info = info;
      title.textContent = info.comment_count === 1 ? '1 comment' : `${info.comment_count} comments`;
      if (page === 1) {
        list.textContent = '';
        renderCompose(info);
      }
      for (const c of info.data) list.append(renderComment(c, info, false));
      more.hidden = page * info.per_page >= info.total;
    } catch (err) {
      fail(err);
    }
  }

  load(1);
}
