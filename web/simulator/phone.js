// The web feature phone. It speaks Africa's Talking's USSD wire format to
// the simulator's own route (which runs the same provider code as
// /ussd/africastalking, in process, without the callback token): a form
// POST per screen with sessionId, serviceCode, phoneNumber, networkCode and
// the cumulative text (every input so far joined by "*"), and reads
// "CON ..." / "END ..." back.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const screen = $('screen'), dial = $('dial'), reply = $('reply'), phone = $('phone');
  const dialRow = $('dial-row'), replyRow = $('reply-row'), callBtn = $('call'), count = $('count');
  let cfg = { service_code: '*2222#', ussd_url: '/simulator/ussd', inbox_url: '/simulator/inbox' };
  let session = null; // { id, code, inputs: [] } while a session is open
  let busy = false;

  function show(text) {
    screen.textContent = text;
    count.textContent = text.length + '/182';
  }

  function field() { return session ? reply : dial; }

  function idle(message) {
    session = null;
    replyRow.hidden = true;
    dialRow.hidden = false;
    callBtn.textContent = 'Call';
    if (message !== undefined) show(message);
    dial.focus();
  }

  async function hop() {
    busy = true;
    callBtn.disabled = true;
    const body = new URLSearchParams({
      sessionId: session.id,
      serviceCode: session.code,
      phoneNumber: phone.value.trim(),
      networkCode: '63902',
      text: session.inputs.join('*'),
    });
    try {
      const resp = await fetch(cfg.ussd_url, { method: 'POST', body });
      const text = await resp.text();
      if (text.startsWith('CON ')) {
        show(text.slice(4));
        replyRow.hidden = false;
        dialRow.hidden = true;
        callBtn.textContent = 'Send';
        reply.value = '';
        reply.focus();
      } else if (text.startsWith('END ')) {
        idle(text.slice(4));
        screen.dataset.ended = 'true';
      } else {
        idle('Connection problem or invalid MMI code. (' + resp.status + ')');
      }
    } catch (e) {
      idle('Connection problem or invalid MMI code.');
    } finally {
      busy = false;
      callBtn.disabled = false;
      pollInbox();
    }
  }

  function call() {
    if (busy) return;
    if (!session) {
      const code = dial.value.trim();
      if (!/^\*[0-9*]+#$/.test(code)) { show('Invalid MMI code'); return; }
      session = { id: 'SIM' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8), code, inputs: [] };
      delete screen.dataset.ended;
      show('USSD code running...');
      hop();
      return;
    }
    session.inputs.push(reply.value.trim());
    hop();
  }

  function cancel() {
    if (busy) return;
    if (session) { idle('Cancelled'); return; }
    if (dial.value === '') dial.value = cfg.service_code;
    else idle('Ready');
  }

  function press(key) {
    const f = field();
    f.value += key;
    f.focus();
  }

  document.querySelectorAll('#keypad button').forEach((b) => {
    b.addEventListener('click', () => press(b.dataset.key));
  });
  callBtn.addEventListener('click', call);
  $('cancel').addEventListener('click', cancel);
  $('clear').addEventListener('click', () => { const f = field(); f.value = f.value.slice(0, -1); f.focus(); });
  [dial, reply].forEach((el) => el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); call(); }
    if (e.key === 'Escape') { e.preventDefault(); cancel(); }
  }));
  phone.addEventListener('change', () => { lastInbox = ''; pollInbox(); });

  // Texting the service: one id per text, so a resent request is answered
  // once, as a provider's retried delivery would be.
  const smsForm = $('sms-form'), smsText = $('sms-text');
  smsForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = smsText.value.trim();
    if (!text || !cfg.sms_url) return;
    const id = 'S' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    try {
      const resp = await fetch(cfg.sms_url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ id, phone: phone.value.trim(), text }) });
      if (resp.ok) smsText.value = '';
    } catch (err) { /* the person can press Send again */ }
    pollInbox();
  });

  // The inbox: what the outbox holds for this phone, newest first.
  let lastInbox = '';
  async function pollInbox() {
    const p = phone.value.trim();
    $('inbox-phone').textContent = p;
    try {
      const resp = await fetch(cfg.inbox_url + '?phone=' + encodeURIComponent(p));
      if (!resp.ok) return;
      const data = await resp.json();
      const key = JSON.stringify(data.messages.map((m) => [m.id, m.status]));
      if (key === lastInbox) return;
      lastInbox = key;
      const list = $('inbox');
      list.replaceChildren();
      if (data.messages.length === 0) {
        const li = document.createElement('li');
        li.className = 'empty';
        li.textContent = 'No messages yet.';
        list.append(li);
      }
      for (const m of data.messages) {
        const li = document.createElement('li');
        li.className = 'sms';
        li.dataset.kind = m.kind;
        const meta = document.createElement('div');
        meta.className = 'meta';
        const kind = document.createElement('span');
        kind.className = 'kind';
        kind.textContent = m.kind;
        meta.append(kind, new Date(m.at).toLocaleTimeString() + ' · ' + m.status + (m.parts > 1 ? ' · ' + m.parts + ' parts' : ''));
        const body = document.createElement('div');
        body.className = 'body';
        body.textContent = m.body;
        li.append(meta, body);
        list.append(li);
      }
    } catch (e) { /* the next poll tries again */ }
  }

  function tick() { $('clock').textContent = new Date().toTimeString().slice(0, 5); }

  fetch('/simulator/config.json').then((r) => r.json()).then((c) => {
    cfg = c;
    dial.value = c.service_code;
    smsForm.hidden = !c.sms_url;
  }).catch(() => {}).finally(() => { idle('Ready'); pollInbox(); });
  tick();
  setInterval(tick, 10000);
  setInterval(pollInbox, 1500);
})();
