// The peer for `make bench`: Huduma's main menu → search → service →
// input → confirm journey, built the way ussd-menu-builder's README shows,
// on Express with sessions in Redis. One UssdMenu per request: a shared
// menu object mixes up concurrent sessions (its run() keeps per-request
// state on the object). Search is a plain substring scan over the same
// catalog held in memory (the peer has no database).
//
//   node server.js PORT REDIS_URL CATALOG_JSON
'use strict';

const express = require('express');
const { createClient } = require('redis');
const UssdMenu = require('ussd-menu-builder');
const fs = require('fs');

const [port, redisURL, catalogPath] = process.argv.slice(2);
const catalog = JSON.parse(fs.readFileSync(catalogPath, 'utf8'));
const services = catalog.services.filter((s) => s.active !== false).map((s) => ({
  code: s.code, name: s.name_en, lower: s.name_en.toLowerCase(), agency: s.agency, fee: s.fee,
  input: (s.inputs && s.inputs[0] && s.inputs[0].label_en) || 'reference',
}));

const redis = createClient({ url: redisURL });
redis.on('error', (e) => console.error('redis', e.message));

function buildMenu() {
  const menu = new UssdMenu();
  const key = (id) => 'peer:s:' + id;
  menu.sessionConfig({
    start: (id) => redis.expire(key(id), 180).then(() => null),
    get: (id, k) => redis.hGet(key(id), k),
    set: (id, k, v) => redis.hSet(key(id), k, v).then(() => redis.expire(key(id), 180)),
    end: (id) => redis.del(key(id)),
  });
  menu.startState({
    run: () => menu.con('eCitizen *2222#\n1. Find a service\n2. Pay an invoice\n3. Check payment status\n4. My invoices\n5. Track application\n6. Language/Lugha'),
    next: { 1: 'find' },
  });
  menu.state('find', {
    run: () => menu.con('Find a service\n1. Search by name\n2. Browse by category\n3. Enter service code\n0. Back'),
    next: { 1: 'search' },
  });
  menu.state('search', {
    run: () => menu.con('Enter a service name, e.g. passport\n0. Back'),
    next: { '*[a-zA-Z ]+': 'results' },
  });
  menu.state('results', {
    run: () => {
      const q = menu.val.toLowerCase();
      const hits = [];
      for (const s of services) {
        if (s.lower.includes(q)) { hits.push(s); if (hits.length === 4) break; }
      }
      menu.session.set('results', JSON.stringify(hits.map((h) => h.code))).then(() => {
        const lines = hits.map((h, i) => `${i + 1}. ${h.name.slice(0, 40)}`);
        menu.con(`Results for '${menu.val}'\n${lines.join('\n') || 'No match'}\n0. Back`);
      });
    },
    next: { '*^[1-4]$': 'service' },
  });
  menu.state('service', {
    run: () => {
      menu.session.get('results').then((raw) => {
        const code = JSON.parse(raw || '[]')[Number(menu.val) - 1];
        const s = services.find((x) => x.code === code);
        if (!s) return menu.end('Sorry, that service is not available.');
        return menu.session.set('service', String(code)).then(() =>
          menu.con(`${s.name}\n${s.agency}\nFee: KES ${s.fee}\nTotal: KES ${s.fee + 5}\n1. Pay now\n2. SMS me details\n0. Back`));
      });
    },
    next: { 1: 'input' },
  });
  menu.state('input', {
    run: () => {
      menu.session.get('service').then((code) => {
        const s = services.find((x) => x.code === Number(code));
        menu.con(`${s ? s.name : ''}\nEnter ${s ? s.input : 'reference'}\n0. Back`);
      });
    },
    next: { '*.+': 'confirm' },
  });
  menu.state('confirm', {
    run: () => {
      menu.session.set('input', menu.val).then(() =>
        menu.con('Confirm\nPaying phone: ' + menu.args.phoneNumber + '\n1. Pay from this phone\n2. Pay from another number\n0. Back'));
    },
  });
  return menu;
}

const app = express();
app.use(express.urlencoded({ extended: false }));
app.post('/ussd', (req, res) => {
  const menu = buildMenu();
  menu.on('error', (err) => { res.status(500).send('END ' + err.message); });
  menu.run(req.body, (msg) => res.type('text/plain').send(msg));
});
app.get('/healthz', (req, res) => res.send('ok'));

redis.connect().then(() => {
  app.listen(Number(port), '127.0.0.1', () => console.log('peer listening on', port));
});
