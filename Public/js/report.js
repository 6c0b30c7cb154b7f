// Reporting a video, a comment or a channel: a dialog with a reason, sent to POST /api/v1/reports.
// Any element with data-report-type and data-report-id opens it; signed out, it goes to sign-in instead.

const reasons = [
  ['spam', 'Spam or scam'], ['harassment', 'Harassment or bullying'], ['hate', 'Hateful or abusive'],
  ['violence', 'Violent or dangerous'], ['sexual', 'Sexual content'], ['copyright', 'Infringes my rights'],
  ['misleading', 'Misleading'], ['other', 'Something else'],
];

let dialog = null;

function build() {
  dialog = document.createElement('dialog');
  dialog.className = 'report-dialog';
  dialog.setAttribute('aria-labelledby', 'report-title');
  const form = document.createElement('form');
  form.method = 'dialog';
  const title = document.createElement('h2');
  title.id = 'report-title';
  const fieldset = document.createElement('fieldset');
  const legend = document.createElement('legend');
  legend.textContent = 'What is wrong with it?';
  fieldset.append(legend);
  for (const [value, label] of reasons) {
    const item = document.createElement('label');
    item.className = 'radio';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'reason';
    input.value = value;
    input.required = true;
    item.append(input, ' ', label);
    fieldset.append(item);
  }
  const detailsLabel = document.createElement('label');
  detailsLabel.textContent = 'Details (optional) ';
  const details = document.createElement('textarea');
  details.name = 'details';
  details.rows = 3;
  details.maxLength = 1000;
  detailsLabel.append(details);
  const status = document.createElement('p');
  status.className = 'report-status';
  status.setAttribute('role', 'status');
  const buttons = document.createElement('div');
  buttons.className = 'dialog-buttons';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'button';
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => dialog.close());
  const send = document.createElement('button');
  send.type = 'submit';
  send.className = 'button primary';
  send.textContent = 'Report';
  buttons.append(cancel, send);
  form.append(title, fieldset, detailsLabel, status, buttons);
  dialog.append(form);
  document.body.append(dialog);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const reason = form.querySelector('input[name=reason]:checked')?.value;
    if (!reason) { status.textContent = 'Choose a reason.'; return; }
    send.disabled = true;
    status.textContent = 'Sending…';
    const csrf = document.querySelector('meta[name=csrf-token]')?.content || '';
    try {
      const response = await fetch('/api/v1/reports', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'application/json' },
        body: JSON.stringify({ type: dialog.dataset.type, id: Number(dialog.dataset.id), reason, details: details.value }),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(answer.reason || `The report could not be sent (${response.status}).`);
      status.textContent = 'Thanks. An administrator will look at it.';
      setTimeout(() => dialog.close(), 1200);
    } catch (error) {
      status.textContent = error.message;
    } finally {
      send.disabled = false;
    }
  });
}

/** Opens the report dialog for a video, comment or channel (signed out: the sign-in page). */
export function openReport(type, id, loginURL) {
  if (!document.querySelector('meta[name=csrf-token]')?.content) {
    location.href = loginURL || '/login';
    return;
  }
  if (!dialog) build();
  dialog.dataset.type = type;
  dialog.dataset.id = String(id);
  dialog.querySelector('#report-title').textContent = `Report this ${type}`;
  dialog.querySelector('form').reset();
  dialog.querySelector('.report-status').textContent = '';
  dialog.showModal();
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-report-type]');
  if (!button) return;
  event.preventDefault();
  openReport(button.dataset.reportType, button.dataset.reportId, button.dataset.login);
});
