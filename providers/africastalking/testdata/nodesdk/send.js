// Sends SMS through the official Africa's Talking Node SDK to the URL in
// argv[2] (our fake) and prints each outcome as one JSON line, so the Go
// test can compare what the SDK sent and what it made of our answers.
'use strict'

const [url, apiKey, badKey] = process.argv.slice(2)
const AfricasTalking = require('africastalking')
const common = require('africastalking/lib/common')

async function attempt (label, key, params) {
  const sms = AfricasTalking({ username: 'sandbox', apiKey: key }).SMS
  common.SMS_URL = url // lib/sms.js reads it at send time
  try {
    const data = await sms.send(params)
    console.log(JSON.stringify({ label, ok: true, data }))
  } catch (err) {
    const status = err.response ? err.response.status : 0
    console.log(JSON.stringify({ label, ok: false, status, error: String(err.message || err) }))
  }
}

async function main () {
  await attempt('one', apiKey, { to: ['+254700000000'], message: 'OTP 1234', from: 'ECITIZEN', enqueue: true })
  await attempt('two', apiKey, { to: ['+254711000001', '+254722000002'], message: 'Receipt: KES 4,600 paid.' })
  await attempt('badkey', badKey, { to: '+254700000000', message: 'nope' })
}

main()
