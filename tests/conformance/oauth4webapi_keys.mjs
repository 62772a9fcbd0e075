// private_key_jwt and key registration checks driven by oauth4webapi: RFC 7638, RFC 7523,
// RFC 7521 (and the RFC 8414 members that advertise private_key_jwt). Imported by
// oauth4webapi.mjs, the script run.sh runs, which calls run() after its secret-based checks
// with what it shares: its check() (so the PASS/FAIL lines and counts join its own and its
// total), its helpers and the discovered metadata. Nothing is duplicated here, and the same
// rule holds: nothing secret is printed.
import crypto from 'node:crypto'

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

// RFC 7638 thumbprint of a P-256 public JWK.
function thumbprint(jwk) {
  const members = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
  return crypto.createHash('sha256').update(members).digest('base64url')
}
async function es256Key() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const key = await crypto.webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }),
    { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  return { jwk, pem: publicKey.export({ type: 'spki', format: 'pem' }), key, kid: thumbprint(jwk) }
}
const b64u = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

// `shared`: what oauth4webapi.mjs passes (see its call of run()).
export async function run(shared) {
  const {
    oauth, as, check, assert, expectError, token, tokenRequest, introspect, revoke, sendOnly, now,
    ISSUER, CLIENT, KEYS, KEYS_SECRET, JWT_CLIENT, JWT_UUID,
  } = shared
  const assertionAuth = (assertion, clientId) => sendOnly({
    ...(clientId ? { client_id: clientId } : {}),
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
  })
  async function managementCall(method, path, json) {
    const access = await token(KEYS, oauth.ClientSecretBasic(KEYS_SECRET),
      { scope: 'm2m.credentials:read m2m.credentials:rotate' })
    return fetch(`${ISSUER}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${access.access_token}`, 'content-type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
    })
  }

  // --- RFC 7523 / RFC 7521: private_key_jwt with an ES256 key ---------------------------------

  await check('RFC 8414 §2 private_key_jwt advertised with ES256 and RS256 (RFC 7523 §3)', async () => {
    for (const prefix of ['token', 'introspection', 'revocation']) {
      assert(as[`${prefix}_endpoint_auth_methods_supported`]?.includes('private_key_jwt'),
        `${prefix}_endpoint_auth_methods_supported lacks private_key_jwt`)
    }
    const algs = as.token_endpoint_auth_signing_alg_values_supported
    assert(Array.isArray(algs), 'token_endpoint_auth_signing_alg_values_supported is missing')
    assert(algs.includes('ES256') && algs.includes('RS256'), `algorithms ${algs}`)
    assert(!algs.includes('none') && !algs.some((a) => a.startsWith('HS')), `algorithms ${algs}`)
  })

  const jwtKey = await es256Key()
  let registered // { id, kid } once the key is on the credential
  let keyProblem = 'the key was not registered'
  await check('RFC 7638 §3 a registered ES256 key gets its JWK thumbprint as kid', async () => {
    const res = await managementCall('POST', `/credentials/${JWT_UUID}/keys`,
      { public_key: JSON.stringify(jwtKey.jwk), expires_at: null })
    if (res.status !== 201) {
      const problem = await res.json().catch(() => ({}))
      // Tells a missing route from a management token that may not call the API.
      const probe = await managementCall('GET', `/credentials/${JWT_UUID}`)
      keyProblem = `POST /api/v1/credentials/{id}/keys answered ${res.status} (${problem.title ?? 'no problem title'}; ` +
        `GET /api/v1/credentials/{id} with the same token answered ${probe.status})`
      throw new Error(keyProblem)
    }
    const body = await res.json()
    registered = body
    assert(body.kid === jwtKey.kid, 'kid is not the RFC 7638 thumbprint of the key')
    assert(body.algorithm === 'ES256', `algorithm ${body.algorithm}`)
  })
  const jwtAuth = (options) => oauth.PrivateKeyJwt({ key: jwtKey.key, kid: jwtKey.kid }, options)

  // A refusal proves something only when the same key's well-formed assertion is accepted.
  let accepted = false
  function requireAccepted() {
    assert(registered, keyProblem)
    assert(accepted, 'refused, but so was a well-formed assertion from the same key')
  }

  let jwtToken
  await check('RFC 7523 §3, RFC 7521 §4.2 oauth4webapi PrivateKeyJwt (ES256) gets a token that introspects active', async () => {
    assert(registered, keyProblem)
    jwtToken = await token(JWT_CLIENT, jwtAuth())
    const claims = await introspect(jwtToken.access_token)
    assert(claims.active === true && claims.client_id === JWT_CLIENT.client_id, 'the token does not introspect active')
    accepted = true
  })

  await check('RFC 7521 §4.2 private_key_jwt authenticates an introspection', async () => {
    assert(jwtToken, 'no token from private_key_jwt')
    const claims = await introspect(jwtToken.access_token, JWT_CLIENT, jwtAuth())
    assert(claims.active === true, `active: ${claims.active}`)
  })

  await check('RFC 7521 §4.2 private_key_jwt authenticates a revocation', async () => {
    const issued = await token(JWT_CLIENT, jwtAuth())
    await revoke(issued.access_token, JWT_CLIENT, jwtAuth())
    assert((await introspect(issued.access_token)).active === false, 'the token is still active')
  })

  await check('RFC 7523 §3 item 7 a replayed jti is refused with invalid_client', async () => {
    const jti = crypto.randomUUID()
    const sameJti = jwtAuth({ [oauth.modifyAssertion]: (_header, payload) => { payload.jti = jti } })
    const first = await tokenRequest(JWT_CLIENT, sameJti)
    assert(first.status === 200, `the first use answered HTTP ${first.status}`)
    await first.body?.cancel()
    await expectError(await tokenRequest(JWT_CLIENT, sameJti), 401, 'invalid_client')
  })

  await check('RFC 7523 §3 item 3 a wrong aud is refused with invalid_client', async () => {
    const res = await tokenRequest(JWT_CLIENT, jwtAuth({
      [oauth.modifyAssertion]: (_header, payload) => { payload.aud = 'https://attacker.example/oauth/token' },
    }))
    await expectError(res, 401, 'invalid_client')
    requireAccepted()
  })

  await check('RFC 7523 §3 item 4 an expired assertion is refused with invalid_client', async () => {
    const res = await tokenRequest(JWT_CLIENT, jwtAuth({
      [oauth.modifyAssertion]: (_header, payload) => {
        Object.assign(payload, { iat: now() - 600, nbf: now() - 600, exp: now() - 300 })
      },
    }))
    await expectError(res, 401, 'invalid_client')
    requireAccepted()
  })

  await check('RFC 7523 §3 item 4 an exp a day ahead is refused with invalid_client', async () => {
    const res = await tokenRequest(JWT_CLIENT, jwtAuth({
      [oauth.modifyAssertion]: (_header, payload) => { payload.exp = now() + 86400 },
    }))
    await expectError(res, 401, 'invalid_client')
    requireAccepted()
  })

  function claimsFor(clientId) {
    return { iss: clientId, sub: clientId, aud: ISSUER, jti: crypto.randomUUID(), iat: now(), exp: now() + 60 }
  }

  await check('RFC 7521 §4.2, RFC 7523 §3 item 9 alg none is refused with invalid_client', async () => {
    const assertion = `${b64u({ alg: 'none', kid: jwtKey.kid })}.${b64u(claimsFor(JWT_CLIENT.client_id))}.`
    await expectError(await tokenRequest(JWT_CLIENT, assertionAuth(assertion, JWT_CLIENT.client_id)), 401, 'invalid_client')
    requireAccepted()
  })

  await check('RFC 7523 §3 item 9 HS256 keyed with the public key is refused with invalid_client', async () => {
    // The classic algorithm confusion: the public key, as PEM and as the JWK registered, used
    // as an HMAC secret.
    for (const secret of [jwtKey.pem, JSON.stringify(jwtKey.jwk)]) {
      const input = `${b64u({ alg: 'HS256', kid: jwtKey.kid })}.${b64u(claimsFor(JWT_CLIENT.client_id))}`
      const mac = crypto.createHmac('sha256', secret).update(input).digest('base64url')
      const res = await tokenRequest(JWT_CLIENT, assertionAuth(`${input}.${mac}`, JWT_CLIENT.client_id))
      await expectError(res, 401, 'invalid_client')
    }
    requireAccepted()
  })

  await check('RFC 7523 §3 item 9 an unknown key is refused with invalid_client', async () => {
    const stranger = await es256Key()
    const res = await tokenRequest(JWT_CLIENT, oauth.PrivateKeyJwt({ key: stranger.key, kid: stranger.kid }))
    await expectError(res, 401, 'invalid_client')
    requireAccepted()
  })

  await check('RFC 7523 §3 items 1-2 another credential\'s client ID as iss and sub is refused with invalid_client', async () => {
    // oauth4webapi.mjs's secret-based credential has no key; the assertion is signed with the
    // key of the private_key_jwt credential.
    const res = await tokenRequest(CLIENT, jwtAuth())
    await expectError(res, 401, 'invalid_client')
    requireAccepted()
  })

  await check('RFC 7523 §3 a removed key stops working on the next request', async () => {
    assert(registered, keyProblem)
    await token(JWT_CLIENT, jwtAuth()) // it works just before
    const res = await managementCall('DELETE', `/credentials/${JWT_UUID}/keys/${registered.id}`)
    assert(res.status === 204, `DELETE …/keys/{key_id} answered ${res.status}`)
    await expectError(await tokenRequest(JWT_CLIENT, jwtAuth()), 401, 'invalid_client')
  })
}
