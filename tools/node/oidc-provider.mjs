// A real OpenID Connect provider (panva's oidc-provider) for the workbench's tests and the demo.
//
//   node tools/node/oidc-provider.mjs CONFIG.json
//
// CONFIG: {"issuer": "http://127.0.0.1:8090", "port": 8090,
//          "clients": [{"client_id", "client_secret" | "client_secret_file", "redirect_uris",
//                       "post_logout_redirect_uris", "code_ttl_seconds"?}],
//          "users": [{"username", "password", "sub", "name", "email", "groups": [..],
//                     "acr"?: "...", "amr"?: ["pwd", "otp"]}]   (or "users_file": a JSON file with "users")}
// Users sign in on a plain login form (username and password; what the user record says about
// acr/amr is what the ID token carries: an MFA user and a password-only user). Consent is
// implied for the configured clients. Prints "ready <issuer>" once it listens.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const base = path.dirname(path.resolve(process.argv[2]));
if (config.users_file) {
  config.users = JSON.parse(fs.readFileSync(path.resolve(base, config.users_file), 'utf8')).users;
}
const users = new Map(config.users.map((u) => [u.sub, u]));
const codeTtl = new Map();

const clients = config.clients.map((c) => {
  const secret = c.client_secret
    ?? fs.readFileSync(path.resolve(base, c.client_secret_file), 'utf8').trim();
  codeTtl.set(c.client_id, c.code_ttl_seconds ?? 60);
  return {
    client_id: c.client_id,
    client_secret: secret,
    redirect_uris: c.redirect_uris,
    post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
});

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

const escape = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)}</title></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;

const configuration = {
  clients,
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  findAccount: async (ctx, sub) => {
    const user = users.get(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      claims: async () => ({ sub, name: user.name, email: user.email, groups: user.groups ?? [] }),
    };
  },
  claims: { openid: ['sub', 'acr', 'amr'], profile: ['name'], email: ['email'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  conformIdTokenClaims: false, // name, e-mail and groups in the ID token itself
  acrValues: ['urn:meldpunt:mfa', 'urn:meldpunt:password'],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Afmelden bij de identiteitsprovider', `${form}
<p>Wilt u zich ook hier afmelden?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Ja, afmelden</button>`);
      },
      postLogoutSuccessSource: async (ctx) => { ctx.body = page('Afgemeld', '<p>U bent afgemeld.</p>'); },
    },
  },
  ttl: {
    AuthorizationCode: (ctx, code, client) => codeTtl.get(client.clientId) ?? 60,
    IdToken: 3600, AccessToken: 3600, Session: 8 * 3600, Interaction: 600, Grant: 8 * 3600,
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Consent is implied: the hub's own workbench is the only client.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Fout bij aanmelden', `<p>${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
  },
};

const provider = new Provider(config.issuer, configuration);
const callback = provider.callback();

function readForm(req) {
  return new Promise((resolve, reject) => {
    let raw = '';
    req.on('data', (chunk) => { raw += chunk; if (raw.length > 10000) reject(new Error('too large')); });
    req.on('end', () => resolve(new URLSearchParams(raw)));
    req.on('error', reject);
  });
}

function loginForm(uid, error) {
  return page('Aanmelden', `${error ? `<p role="alert" id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<p><label for="username">Gebruikersnaam</label><br><input id="username" name="username" autocomplete="username" required></p>
<p><label for="password">Wachtwoord</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Aanmelden</button></p></form>`);
}

async function interaction(req, res) {
  const match = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name !== 'login') {
      await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
      return;
    }
    if (!match[2]) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(loginForm(details.uid));
      return;
    }
    const form = await readForm(req);
    const user = config.users.find((u) => u.username === form.get('username') && u.password === form.get('password'));
    if (!user) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(loginForm(details.uid, 'Onbekende gebruikersnaam of wachtwoord.'));
      return;
    }
    const login = { accountId: user.sub };
    if (user.acr) login.acr = user.acr;
    if (user.amr) login.amr = user.amr;
    await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
  } catch (err) {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`interaction failed: ${err.message}`);
  }
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res);
  } else {
    callback(req, res);
  }
});
server.listen(config.port, '127.0.0.1', () => { console.log(`ready ${config.issuer}`); });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
