// A real OpenID Connect provider (the npm package oidc-provider) configured like ProConnect,
// for Mes ADS's tests: authorization code flow with PKCE, ID token and userinfo both signed
// RS256 (the userinfo comes back as a JWT, as ProConnect's does), RP-initiated logout.
//
// Started by tests/support/oidc/conftest fixtures on loopback:
//   node tests/support/oidc/provider.mjs '{"client_id": …, "client_secret": …,
//                                  "redirect_uris": […], "post_logout_redirect_uris": […]}'
// It listens on a free port of 127.0.0.1 and prints one line, `listening <port>`.
//
// The login page is ours (not devInteractions): one text field, the test account's
// identifier, so that both an HTTP client and a browser can fill it. Consent is implicit,
// as at ProConnect. Test-only endpoints under /__test__/ let a test add an account, make
// the token endpoint misbehave (a tampered or an expired ID token) and read which
// end-session requests arrived.

import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] || '{}');

// Test accounts by subject: the claims ProConnect's scopes give.
const accounts = new Map();
// How the provider alters what it returns: 'normal'; 'tamper' (the ID token claims a
// stronger authentication than it was signed with), 'expire' (an ID token re-signed,
// expired an hour ago), 'other-audience' (an ID token re-signed for another client),
// 'tamper-userinfo' (the userinfo names another address), 'userinfo-other-sub' (a
// userinfo re-signed for another subject), 'userinfo-unsigned' (a userinfo in plain JSON).
let idTokenMode = 'normal';
// Every request that reached the end-session endpoint, for the logout test.
const endSessionLog = [];

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

function b64url(input) {
  return Buffer.from(input).toString('base64url');
}

function resignWith(token, changes) {
  // A token signed with the provider's own key but with other claims (expired, say).
  const [header, payload] = token.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url')), ...changes };
  const signingInput = `${header}.${b64url(JSON.stringify(claims))}`;
  const signature = crypto.sign('sha256', Buffer.from(signingInput), privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function tamper(token, changes) {
  // Claims changed in the payload, the original signature kept: the signature no longer
  // matches what it signs.
  const [header, payload, signature] = token.split('.');
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url')), ...changes };
  return `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body>
</html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type });
  res.end(body);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: config.client_id,
        client_secret: config.client_secret,
        redirect_uris: config.redirect_uris,
        post_logout_redirect_uris: config.post_logout_redirect_uris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'RS256',
        userinfo_signed_response_alg: 'RS256',
      },
    ],
    jwks: { keys: [signingKey] },
    // ProConnect's scopes, each naming the claim of the same name; email_verified only
    // when a test account states it (ProConnect itself does not send it).
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      given_name: ['given_name'],
      usual_name: ['usual_name'],
      uid: ['uid'],
      siret: ['siret'],
    },
    scopes: ['openid', 'email', 'given_name', 'usual_name', 'uid', 'siret'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      jwtUserinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page(
            'Se déconnecter de ProConnect',
            `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter</button>`,
          );
        },
      },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ ...account, sub }) };
    },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    ttl: { AccessToken: 60, AuthorizationCode: 30, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Erreur du fournisseur', `<pre>${escapeHtml(JSON.stringify(out))}</pre>`);
    },
  });
  // Silence the "configure this in production" notices.
  provider.on('server_error', (ctx, error) => console.error(error));

  provider.use(async (ctx, next) => {
    if (ctx.path === '/session/end' && ctx.method === 'GET') {
      endSessionLog.push({
        id_token_hint: ctx.query.id_token_hint || null,
        post_logout_redirect_uri: ctx.query.post_logout_redirect_uri || null,
        state: ctx.query.state || null,
      });
    }
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
      if (idTokenMode === 'tamper') {
        ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token, { acr: 'eidas3' }) };
      } else if (idTokenMode === 'expire') {
        const now = Math.floor(Date.now() / 1000);
        ctx.body = { ...ctx.body, id_token: resignWith(ctx.body.id_token, { iat: now - 7200, exp: now - 3600 }) };
      } else if (idTokenMode === 'other-audience') {
        ctx.body = { ...ctx.body, id_token: resignWith(ctx.body.id_token, { aud: 'un-autre-service' }) };
      }
    }
    if (ctx.path === '/me' && ctx.status === 200) {
      if (idTokenMode === 'tamper-userinfo') {
        ctx.body = tamper(String(ctx.body), { email: 'equipe@transports.gouv.fr' });
      } else if (idTokenMode === 'userinfo-other-sub') {
        ctx.body = resignWith(String(ctx.body), { sub: 'sub-quelqu-un-d-autre' });
      } else if (idTokenMode === 'userinfo-unsigned') {
        // The same claims as plain JSON: what a provider that does not sign would send.
        ctx.body = JSON.parse(Buffer.from(String(ctx.body).split('.')[1], 'base64url'));
      }
    }
  });

  const callback = provider.callback();

  async function interaction(req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return send(res, 400, page('Interaction inconnue', ''));
    const { prompt, params, session } = details;
    if (prompt.name === 'consent') {
      // ProConnect asks no consent: grant what the client asked for.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      const grantId = await grant.save();
      return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }
    if (req.method === 'POST') {
      const form = await readForm(req);
      const login = form.get('login') || '';
      if (!accounts.has(login)) {
        return send(res, 200, page('Connexion au fournisseur de test', `<p role="alert">Compte inconnu.</p>${loginForm(uid)}`));
      }
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    }
    return send(res, 200, page('Connexion au fournisseur de test', loginForm(uid)));
  }

  function loginForm(uid) {
    return `<form method="post" action="/interaction/${escapeHtml(uid)}">
<label for="login">Identifiant</label>
<input id="login" name="login" type="text" autocomplete="username">
<button type="submit">Se connecter</button>
</form>`;
  }

  async function testEndpoint(req, res, path) {
    if (path === '/__test__/accounts' && req.method === 'POST') {
      const { sub, ...claims } = await readJson(req);
      accounts.set(sub, claims);
      return send(res, 204, '', 'text/plain');
    }
    if (path === '/__test__/id-token-mode' && req.method === 'POST') {
      ({ mode: idTokenMode } = await readJson(req));
      return send(res, 204, '', 'text/plain');
    }
    if (path === '/__test__/end-session-log') {
      return send(res, 200, JSON.stringify(endSessionLog), 'application/json');
    }
    if (path === '/__test__/reset' && req.method === 'POST') {
      idTokenMode = 'normal';
      endSessionLog.length = 0;
      return send(res, 204, '', 'text/plain');
    }
    return send(res, 404, 'not found', 'text/plain');
  }

  server.on('request', (req, res) => {
    const { pathname } = new URL(req.url, issuer);
    const match = pathname.match(/^\/interaction\/([^/]+)$/);
    let handled;
    if (match) handled = interaction(req, res, match[1]);
    else if (pathname.startsWith('/__test__/')) handled = testEndpoint(req, res, pathname);
    else return callback(req, res);
    handled.catch((error) => {
      console.error(error);
      if (!res.headersSent) send(res, 500, page('Erreur', `<pre>${escapeHtml(error.message)}</pre>`));
    });
  });

  console.log(`listening ${port}`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
