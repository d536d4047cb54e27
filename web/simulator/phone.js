// The web feature phone. It speaks Africa's Talking's USSD wire format to
// the simulator's own route (which runs the same provider code as
// /ussd/africastalking, in process, without the callback token): a form
// POST per screen with sessionId, serviceCode, phoneNumber, networkCode and
// the cumulative text (every input so far joined by "*"), and reads
// "CON ..." / "END ..." back. With the payment simulator it also shows
// the M-Pesa prompts sent to its number and answers them, and pays by
// paybill. Every request and reply goes to the log panel; every error is
// shown.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const screen = $('screen'), dial = $('dial'), reply = $('reply'), phone = $('phone'), network = $('network');
  const dialRow = $('dial-row'), replyRow = $('reply-row'), callBtn = $('call'), count = $('count');
  let cfg = { service_code: '*2222#', ussd_url: '/simulator/ussd', inbox_url: '/simulator/inbox', networks: [] };
  let session = null; // { id, code, inputs: [] } while a session is open
  let busy = false;

  // ---- errors: shown, never swallowed ----
  function showError(msg) {
    $('error-text').textContent = msg;
    $('error').hidden = false;
  }
  $('error-close').addEventListener('click', () => { $('error').hidden = true; });

  // errorOf reads the reason out of a refused request (see reason).
  async function errorOf(resp) { return reason(await resp.text(), resp.status); }

  // ---- the log panel ----
  function log(what, request, replyText, ms, failed) {
    const li = document.createElement('li');
    if (failed) li.className = 'failed';
    const meta = document.createElement('div');
    meta.className = 'meta';
    const w = document.createElement('span');
    w.className = 'what';
    w.textContent = what;
    const now = new Date(), pad = (n, width) => String(n).padStart(width, '0');
    const at = pad(now.getHours(), 2) + ':' + pad(now.getMinutes(), 2) + ':' + pad(now.getSeconds(), 2) + '.' + pad(now.getMilliseconds(), 3);
    meta.append(w, ' ' + at + (ms === null ? '' : ' · ' + ms + ' ms'));
    const req = document.createElement('pre');
    req.className = 'req';
    req.textContent = '→ ' + request;
    const rep = document.createElement('pre');
    rep.className = 'rep';
    rep.textContent = '← ' + replyText;
    li.append(meta, req, rep);
    const list = $('log');
    list.prepend(li);
    while (list.children.length > 60) list.lastChild.remove();
  }
  $('clear-log').addEventListener('click', () => $('log').replaceChildren());

  // send makes a request, logs it with its reply and time, and returns
  // the response and its text (null when the gateway could not be reached).
  async function send(what, url, init, shown) {
    const t0 = performance.now();
    try {
      const resp = await fetch(url, init);
      const text = await resp.text();
      log(what, shown, resp.status + ' ' + text, Math.round(performance.now() - t0), !resp.ok);
      return { resp, text };
    } catch (e) {
      log(what, shown, 'no answer: ' + e.message, Math.round(performance.now() - t0), true);
      showError(what + ': the gateway did not answer (' + e.message + ')');
      return null;
    }
  }
  // reason is why a request was refused: the API's {"error":{"message"}},
  // else the status and the start of the body.
  function reason(text, status) {
    try {
      const j = JSON.parse(text);
      if (j.error && j.error.message) return j.error.message;
    } catch (e) { /* not JSON */ }
    return 'HTTP ' + status + (text ? ': ' + text.slice(0, 200) : '');
  }

  // ---- the screen and the session ----
  function show(text) {
    screen.textContent = text;
    count.textContent = text.length + '/182';
  }
  function field() { return session ? reply : dial; }
  function selectedNetwork() {
    return cfg.networks.find((n) => n.code === network.value) || { name: 'Safaricom', code: '63902' };
  }

  function idle(message) {
    session = null;
    commitTap();
    replyRow.hidden = true;
    dialRow.hidden = false;
    callBtn.textContent = 'Call';
    phone.disabled = network.disabled = false;
    if (message !== undefined) show(message);
    dial.focus();
  }

  // endSession tells the gateway the session is over, as the aggregator's
  // end-of-session notification does: Success after an END, Incomplete
  // when the person hung up.
  function endSession(s, status, last) {
    if (!cfg.events_url) return;
    const body = new URLSearchParams({ sessionId: s.id, serviceCode: s.code, phoneNumber: s.phone, networkCode: s.network,
      status, input: s.inputs.join('*'), lastAppResponse: last || '', hopsCount: String(s.inputs.length + 1) });
    send('Session end', cfg.events_url, { method: 'POST', body }, 'status=' + status + ' sessionId=' + s.id);
  }

  async function hop() {
    busy = true;
    callBtn.disabled = true;
    const s = session;
    const body = new URLSearchParams({ sessionId: s.id, serviceCode: s.code, phoneNumber: s.phone, networkCode: s.network,
      text: s.inputs.join('*') });
    const shown = 'text=' + JSON.stringify(s.inputs.join('*')) + ' phoneNumber=' + s.phone + ' networkCode=' + s.network + ' sessionId=' + s.id;
    const r = await send('USSD', cfg.ussd_url, { method: 'POST', body }, shown);
    busy = false;
    callBtn.disabled = false;
    if (!r) { idle('Connection problem or invalid MMI code.'); return; }
    if (r.text.startsWith('CON ')) {
      show(r.text.slice(4));
      replyRow.hidden = false;
      dialRow.hidden = true;
      callBtn.textContent = 'Send';
      reply.value = '';
      reply.focus();
    } else if (r.text.startsWith('END ')) {
      endSession(s, 'Success', r.text);
      idle(r.text.slice(4));
      screen.dataset.ended = 'true';
    } else {
      showError('The gateway answered the USSD hop with ' + reason(r.text, r.resp.status));
      idle('Connection problem or invalid MMI code.');
    }
    pollInbox();
  }

  // While a prompt's outcome shows, Call or End only puts it away.
  function promptKey(answer) {
    if (promptShown.answering) {
      if ($('prompt-entry').hidden) hidePrompt();
      return;
    }
    answerPrompt(answer);
  }

  function call() {
    if (promptShown) { promptKey('pin'); return; }
    if (busy) return;
    commitTap();
    if (!session) {
      const code = dial.value.trim();
      if (!/^\*[0-9*]+#$/.test(code)) { show('Invalid MMI code'); showError('"' + code + '" is not a USSD code: dial something like ' + cfg.service_code); return; }
      const net = selectedNetwork();
      session = { id: 'SIM' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8), code, inputs: [],
        phone: phone.value.trim(), network: net.code };
      phone.disabled = network.disabled = true; // one number per session, as on a real phone
      delete screen.dataset.ended;
      show('USSD code running...');
      hop();
      return;
    }
    session.inputs.push(reply.value.trim());
    hop();
  }

  function cancel() {
    if (promptShown) { promptKey('cancel'); return; }
    if (busy) return;
    if (session) {
      endSession(session, 'Incomplete', '');
      idle('Session ended');
      return;
    }
    if (dial.value === '') dial.value = cfg.service_code;
    else idle('Ready');
  }

  // ---- typing: digits, or letters by multi-tap ----
  const modes = ['123', 'abc', 'ABC'];
  let mode = '123';
  const letters = { '1': ".,'-/1", '2': 'abc2', '3': 'def3', '4': 'ghi4', '5': 'jkl5', '6': 'mno6', '7': 'pqrs7', '8': 'tuv8',
    '9': 'wxyz9', '0': ' 0', '*': '*', '#': '#' };
  let tap = null; // { key, i, timer } while a multi-tap letter may still change

  function commitTap() {
    if (!tap) return;
    clearTimeout(tap.timer);
    tap = null;
    reply.classList.remove('pending');
  }
  function setMode(m) {
    commitTap();
    mode = m;
    $('mode').textContent = m;
    $('mode-shown').textContent = m;
  }

  function press(key) {
    if (promptShown) {
      const pin = $('pin');
      if (pin.value.length < 4 && /[0-9]/.test(key)) pin.value += key;
      return;
    }
    const f = field();
    if (f !== reply || mode === '123') {
      commitTap();
      f.value += key;
      f.focus();
      return;
    }
    const set = letters[key];
    let ch;
    if (tap && tap.key === key) {
      clearTimeout(tap.timer);
      tap.i = (tap.i + 1) % set.length;
      ch = set[tap.i];
      f.value = f.value.slice(0, -1);
    } else {
      commitTap();
      tap = { key, i: 0 };
      ch = set[0];
    }
    f.value += mode === 'ABC' ? ch.toUpperCase() : ch;
    reply.classList.add('pending');
    tap.timer = setTimeout(commitTap, 1000);
    f.focus();
  }

  document.querySelectorAll('#keypad button').forEach((b) => {
    b.addEventListener('click', () => press(b.dataset.key));
  });
  callBtn.addEventListener('click', call);
  $('cancel').addEventListener('click', cancel);
  $('mode').addEventListener('click', () => setMode(modes[(modes.indexOf(mode) + 1) % modes.length]));
  $('clear').addEventListener('click', () => {
    if (promptShown) { const pin = $('pin'); pin.value = pin.value.slice(0, -1); return; }
    commitTap();
    const f = field();
    f.value = f.value.slice(0, -1);
    f.focus();
  });
  [dial, reply].forEach((el) => el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); call(); }
    if (e.key === 'Escape') { e.preventDefault(); cancel(); }
  }));

  // ---- the number and its network ----
  function setNetworkLabel() { $('net').textContent = selectedNetwork().name; }
  network.addEventListener('change', () => {
    const net = selectedNetwork();
    phone.value = net.number; // a number of that network
    setNetworkLabel();
    numberChanged();
  });
  let typing = null;
  phone.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(numberChanged, 300); });
  function numberChanged() {
    lastInbox = '';
    hidePrompt();
    pollInbox();
    pollPrompts();
  }

  // ---- texting the service ----
  // One id per text, so a resent request is answered once, as a
  // provider's retried delivery would be.
  const smsForm = $('sms-form'), smsText = $('sms-text');
  smsForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = smsText.value.trim();
    if (!text) { showError('Write a text to send.'); return; }
    if (!cfg.sms_url) return;
    const id = 'S' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    const r = await send('SMS in', cfg.sms_url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id, phone: phone.value.trim(), text }) }, 'from ' + phone.value.trim() + ': ' + text.slice(0, 80));
    if (r && r.resp.ok) smsText.value = '';
    else if (r) showError('Text refused: ' + reason(r.text, r.resp.status));
    pollInbox();
  });

  // ---- the inbox: what the outbox holds for this phone, newest first ----
  let lastInbox = '';
  const clearedKey = (p) => 'huduma-sim-cleared:' + p;
  async function pollInbox() {
    const p = phone.value.trim();
    $('inbox-phone').textContent = p;
    let resp, data;
    try {
      resp = await fetch(cfg.inbox_url + '?phone=' + encodeURIComponent(p));
      if (!resp.ok) {
        const why = await errorOf(resp);
        if (p === phone.value.trim()) {
          $('phone-error').textContent = 'Not a number the gateway takes: ' + why;
          $('phone-error').hidden = false;
          renderInbox([], 'No inbox for an invalid number.');
          lastInbox = '';
        }
        return;
      }
      data = await resp.json();
    } catch (e) { return; /* the next poll tries again */ }
    if (p !== phone.value.trim()) return; // the number changed meanwhile
    $('phone-error').hidden = true;
    const net = cfg.networks.find((n) => n.name.toLowerCase() === data.network);
    if (net && net.code !== network.value && !session) { network.value = net.code; setNetworkLabel(); }
    const cleared = Number(localStorage.getItem(clearedKey(p)) || 0);
    const msgs = data.messages.filter((m) => m.id > cleared);
    const key = JSON.stringify(msgs.map((m) => [m.id, m.status]));
    if (key === lastInbox) return;
    lastInbox = key;
    renderInbox(msgs, 'No messages yet.');
  }
  function renderInbox(msgs, emptyText) {
    const list = $('inbox');
    list.replaceChildren();
    if (msgs.length === 0) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = emptyText;
      list.append(li);
    }
    for (const m of msgs) {
      const li = document.createElement('li');
      li.className = 'sms';
      li.dataset.kind = m.kind;
      li.dataset.id = m.id;
      const meta = document.createElement('div');
      meta.className = 'meta';
      const kind = document.createElement('span');
      kind.className = 'kind';
      kind.textContent = m.kind;
      meta.append(kind, new Date(m.at).toLocaleTimeString() + ' · ' + m.status + (m.parts > 1 ? ' · ' + m.parts + ' parts' : ''));
      const body = document.createElement('div');
      body.className = 'body';
      body.textContent = m.body; // line breaks kept (white-space: pre-wrap)
      li.append(meta, body);
      list.append(li);
    }
  }
  // Clearing hides what is there now, as deleting them on a phone does;
  // the gateway's outbox keeps its record.
  $('clear-inbox').addEventListener('click', async () => {
    const p = phone.value.trim();
    try {
      const resp = await fetch(cfg.inbox_url + '?phone=' + encodeURIComponent(p));
      if (!resp.ok) { showError('Cannot clear the inbox: ' + await errorOf(resp)); return; }
      const data = await resp.json();
      const top = data.messages.reduce((a, m) => Math.max(a, m.id), 0);
      localStorage.setItem(clearedKey(p), String(top));
    } catch (e) { showError('Cannot clear the inbox: ' + e.message); return; }
    lastInbox = '';
    pollInbox();
  });

  // ---- M-Pesa prompts on the phone ----
  // Asking for this number's prompts tells the simulator a person holds
  // the phone, so the prompts sent to it wait for an answer here.
  let promptShown = null; // { checkout, left, phone }
  async function pollPrompts() {
    if (!cfg.prompts_url) return;
    const p = phone.value.trim();
    let data;
    try {
      const resp = await fetch(cfg.prompts_url + '?phone=' + encodeURIComponent(p));
      if (!resp.ok) return; // an invalid number: the inbox says so
      data = await resp.json();
    } catch (e) { return; }
    if (p !== phone.value.trim()) return;
    if (promptShown) {
      if (!promptShown.answering && !data.prompts.some((x) => x.checkout === promptShown.checkout)) {
        promptDone('The M-Pesa prompt timed out.');
      }
      return;
    }
    if (data.prompts.length > 0) showPrompt(data.prompts[0], p);
  }
  function showPrompt(pr, p) {
    commitTap();
    promptShown = { checkout: pr.checkout, left: pr.seconds_left, phone: p };
    $('prompt-text').textContent = 'Pay KES ' + pr.amount.toLocaleString('en') + ' to ' + pr.business + ' for account ' + pr.account + '?';
    $('prompt-entry').hidden = false;
    $('prompt-status').textContent = '';
    $('pin').value = '';
    $('prompt-timer').textContent = String(pr.seconds_left);
    $('prompt').hidden = false;
    $('pin').focus();
    log('M-Pesa prompt', 'to ' + p, 'KES ' + pr.amount + ' for ' + pr.account + ', answer within ' + pr.seconds_left + ' s (' + pr.checkout + ')', null, false);
  }
  function hidePrompt() {
    promptShown = null;
    $('prompt').hidden = true;
  }
  // promptDone shows what came of a prompt for a moment, then the screen.
  function promptDone(msg) {
    if (!promptShown) return;
    promptShown.answering = true;
    $('prompt-entry').hidden = true;
    $('prompt-status').textContent = msg;
    const shown = promptShown;
    setTimeout(() => { if (promptShown === shown) hidePrompt(); }, 3000);
  }
  async function answerPrompt(answer) {
    if (!promptShown || promptShown.answering) return;
    const pin = $('pin').value;
    if (answer === 'pin' && !/^[0-9]{4}$/.test(pin)) { $('prompt-status').textContent = 'Enter the 4-digit PIN.'; return; }
    promptShown.answering = true;
    const body = { phone: promptShown.phone, checkout: promptShown.checkout, answer };
    if (answer === 'pin') body.pin = pin;
    const r = await send('M-Pesa answer', cfg.answer_url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body) }, answer + ' to ' + promptShown.checkout);
    if (!r) { promptShown.answering = false; return; }
    if (!r.resp.ok) {
      showError('The M-Pesa prompt could not be answered: ' + reason(r.text, r.resp.status));
      promptShown.answering = false;
      promptDone('Not answered.');
      return;
    }
    const out = JSON.parse(r.text);
    const words = { '0': 'Paid. The M-Pesa and eCitizen texts follow.', '1032': 'Cancelled.', '2001': 'Wrong PIN: the payment failed.' };
    promptDone(words[out.result_code] || out.result_desc);
    setTimeout(pollInbox, 1500);
  }
  $('prompt-ok').addEventListener('click', () => answerPrompt('pin'));
  $('prompt-cancel').addEventListener('click', () => answerPrompt('cancel'));
  $('pin').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); answerPrompt('pin'); }
    if (e.key === 'Escape') { e.preventDefault(); answerPrompt('cancel'); }
  });
  function tickPrompt() {
    if (!promptShown || promptShown.answering) return;
    promptShown.left = Math.max(0, promptShown.left - 1);
    $('prompt-timer').textContent = String(promptShown.left);
  }

  // ---- pay by paybill ----
  $('paybill-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const account = $('paybill-account').value.trim();
    const amount = Number($('paybill-amount').value);
    if (!Number.isInteger(amount)) { showError('The amount is whole shillings.'); return; }
    const body = { phone: phone.value.trim(), account, amount, validate: $('paybill-validate').checked, full_number: $('paybill-full').checked };
    const r = await send('Paybill', cfg.paybill_url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
      'KES ' + amount + ' to ' + cfg.paybill + ' account ' + JSON.stringify(account) + (body.validate ? ', validated' : ''));
    const result = $('paybill-result');
    if (!r) return;
    if (!r.resp.ok) {
      showError('Paybill payment refused: ' + reason(r.text, r.resp.status));
      result.textContent = '';
      return;
    }
    const out = JSON.parse(r.text);
    const codes = { C2B00012: 'no payable invoice has that account', C2B00013: 'more than the invoice still needs' };
    result.textContent = out.rejected
      ? 'Refused by the gateway\'s validation (' + out.rejected + ': ' + (codes[out.rejected] || 'refused') + '): no money moved.'
      : 'M-Pesa ref ' + out.trans_id + ': KES ' + amount.toLocaleString('en') + ' paid to ' + cfg.paybill + ', account ' + account + '.';
    pollInbox();
    pollSuspense();
  });

  // ---- suspense, read-only ----
  async function pollSuspense() {
    if (!cfg.suspense_url) return;
    let data;
    try {
      const resp = await fetch(cfg.suspense_url);
      if (!resp.ok) return;
      data = await resp.json();
    } catch (e) { return; }
    $('suspense-total').textContent = data.items.length === 0 ? 'Nothing held.'
      : 'KES ' + data.held.toLocaleString('en') + ' held in ' + data.items.length + ' payment' + (data.items.length > 1 ? 's' : '') + ', longest held first.';
    const body = $('suspense').tBodies[0];
    body.replaceChildren();
    for (const it of data.items) {
      const tr = document.createElement('tr');
      for (const v of [it.trans_id, it.reason, 'KES ' + it.suspense.toLocaleString('en'), it.account]) {
        const td = document.createElement('td');
        td.textContent = v;
        tr.append(td);
      }
      body.append(tr);
    }
  }

  function tick() { $('clock').textContent = new Date().toTimeString().slice(0, 5); }

  fetch('/simulator/config.json').then((r) => r.json()).then((c) => {
    cfg = c;
    dial.value = c.service_code;
    for (const n of c.networks) {
      const o = document.createElement('option');
      o.value = n.code;
      o.textContent = n.name;
      network.append(o);
    }
    if (c.networks.length > 0) phone.value = c.networks[0].number;
    smsForm.hidden = !c.sms_url;
    $('paybill-form').hidden = !c.paybill_url;
    $('paybill-number').textContent = c.paybill || '';
    $('suspense-panel').hidden = !c.suspense_url;
    if (c.pin) $('pin-hint').textContent = c.pin;
    setNetworkLabel();
  }).catch((e) => showError('Cannot read the simulator\'s settings: ' + e.message)).finally(() => {
    idle('Ready');
    pollInbox();
    pollPrompts();
    pollSuspense();
  });
  tick();
  setInterval(tick, 10000);
  setInterval(pollInbox, 1500);
  setInterval(pollPrompts, 1000);
  setInterval(tickPrompt, 1000);
  setInterval(pollSuspense, 3000);
})();
