// Local OpenID Connect provider for the integration tests.
//
// Runs node-oidc-provider (OpenID Certified) with the settings the desktop app
// and the API expect from a real identity provider. See README.md.
//
// Contract with the tests:
//   - env PORT (default 0 = ephemeral), listens on 127.0.0.1 only;
//   - env KEY_FILE (optional): the private signing JWK is written there;
//   - env ACCESS_TOKEN_TTL (seconds, default 300);
//   - env VERBOSE=1 logs every rejected request to stderr;
//   - once listening, exactly one line goes to stdout:
//       {"issuer":"http://127.0.0.1:PORT"}
//     everything else goes to stderr;
//   - SIGTERM / SIGINT stop it with exit code 0.

import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

// stdout carries only the issuer line: route every console method that would
// write to stdout (oidc-provider prints its notices with console.info) to stderr.
// oidc-provider is imported dynamically below so this is in place before it loads.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const { default: Provider, errors } = await import('oidc-provider');

// ---------------------------------------------------------------------------
// Settings

const API = 'https://timesheets.example.com/api';
const API_SCOPES = ['read:timesheets', 'create:timesheets', 'delete:timesheets', 'approve:timesheets'];

function intFromEnv(name, fallback, min) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    console.error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const PORT = intFromEnv('PORT', 0, 0);
const ACCESS_TOKEN_TTL = intFromEnv('ACCESS_TOKEN_TTL', 300, 1);
const KEY_FILE = process.env.KEY_FILE || undefined;
const VERBOSE = process.env.VERBOSE === '1';

const CLIENTS = [
  {
    client_id: 'timesheets-desktop',
    client_name: 'Timesheets (desktop)',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['com.example.timesheets:/oauth/callback'],
  },
  {
    // RFC 8252 section 7.3: for native clients node-oidc-provider accepts a
    // loopback http redirect URI with any port (the registered one has none).
    client_id: 'timesheets-desktop-loopback',
    client_name: 'Timesheets (desktop, loopback redirect)',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/callback'],
  },
];

const ACCOUNTS = [
  {
    sub: 'employee-0001',
    email: 'employee@example.com',
    password: 'password',
    name: 'Erin Employee',
    scopes: ['read:timesheets', 'create:timesheets', 'delete:timesheets'],
  },
  {
    sub: 'manager-0001',
    email: 'manager@example.com',
    password: 'password',
    name: 'Morgan Manager',
    scopes: ['read:timesheets', 'create:timesheets', 'delete:timesheets', 'approve:timesheets'],
  },
  {
    sub: 'auditor-0001',
    email: 'auditor@example.com',
    password: 'password',
    name: 'Avery Auditor',
    scopes: ['read:timesheets'],
  },
];
const accountsBySub = new Map(ACCOUNTS.map((a) => [a.sub, a]));
const accountsByEmail = new Map(ACCOUNTS.map((a) => [a.email, a]));

// ---------------------------------------------------------------------------
// Signing key: fresh RSA 2048 key per run, kid = RFC 7638 thumbprint.

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const thumbprintInput = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  const kid = createHash('sha256').update(thumbprintInput).digest('base64url');
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

// ---------------------------------------------------------------------------
// HTML rendering

function escapeHtml(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
</head>
<body>
${body}
</body>
</html>
`;
}

function loginPage(uid, { email = '', failed = false } = {}) {
  const alert = failed ? '<p role="alert">Email or password is incorrect.</p>\n' : '';
  return page('Sign in', `<h1>Sign in to Timesheets</h1>
${alert}<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="email">Email</label>
<input type="email" id="email" name="email" value="${escapeHtml(email)}" autocomplete="username">
<label for="password">Password</label>
<input type="password" id="password" name="password" value="" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>`);
}

function consentPage(uid, { client, account, scopes }) {
  const items = scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('\n');
  return page('Allow access', `<h1>Allow access</h1>
<p>${escapeHtml(client?.clientName ?? client?.clientId ?? 'An application')} wants to access your account (${escapeHtml(account?.email ?? '')}).</p>
<ul>
${items}
</ul>
<form method="post" action="/interaction/${escapeHtml(uid)}/confirm">
<button type="submit">Allow</button>
</form>
<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`);
}

function errorPage(out) {
  const rows = Object.entries(out)
    .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</p>`)
    .join('\n');
  return page('Error', `<h1>Error</h1>\n${rows}`);
}

function sendHtml(ctx, status, html) {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = html;
}

async function readForm(req, limit = 64 * 1024) {
  const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  if (type !== 'application/x-www-form-urlencoded') return new URLSearchParams();
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function passwordMatches(account, password) {
  const a = createHash('sha256').update(account.password).digest();
  const b = createHash('sha256').update(password).digest();
  return timingSafeEqual(a, b);
}

// ---------------------------------------------------------------------------
// Interaction routes: GET /interaction/:uid, POST /interaction/:uid/login,
// POST /interaction/:uid/confirm, GET /interaction/:uid/abort

function interactionRoutes(provider) {
  const route = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/;

  async function details(ctx, uid) {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== uid) {
      throw new errors.InvalidRequest('interaction uid does not match the interaction cookie');
    }
    return interaction;
  }

  async function show(ctx, uid) {
    const interaction = await details(ctx, uid);
    const { prompt, params, session } = interaction;
    if (prompt.name === 'login') {
      return sendHtml(ctx, 200, loginPage(uid, { email: params.login_hint || '' }));
    }
    if (prompt.name === 'consent') {
      const client = await provider.Client.find(params.client_id);
      const account = accountsBySub.get(session?.accountId);
      const requested = String(params.scope || '').split(' ').filter(Boolean);
      const scopes = requested.filter((s) => !API_SCOPES.includes(s) || account?.scopes.includes(s));
      return sendHtml(ctx, 200, consentPage(uid, { client, account, scopes }));
    }
    throw new errors.InvalidRequest(`unsupported prompt ${prompt.name}`);
  }

  async function login(ctx, uid) {
    const interaction = await details(ctx, uid);
    if (interaction.prompt.name !== 'login') {
      throw new errors.InvalidRequest('this interaction does not expect a login');
    }
    const form = await readForm(ctx.req);
    const email = (form.get('email') || '').trim();
    const password = form.get('password') || '';
    const account = accountsByEmail.get(email.toLowerCase());
    if (!account || !passwordMatches(account, password)) {
      return sendHtml(ctx, 200, loginPage(uid, { email, failed: true }));
    }
    ctx.respond = false;
    return provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: account.sub },
    }, { mergeWithLastSubmission: false });
  }

  async function confirm(ctx, uid) {
    const interaction = await details(ctx, uid);
    const { prompt: { name, details: missing }, params, session } = interaction;
    if (name !== 'consent') {
      throw new errors.InvalidRequest('this interaction does not expect a consent');
    }
    await readForm(ctx.req);
    const account = accountsBySub.get(session.accountId);

    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });

    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        // Grant only what this account may do; record the rest as rejected so
        // the consent prompt does not come back for them.
        const allowed = scopes.filter((s) => account?.scopes.includes(s));
        const denied = scopes.filter((s) => !allowed.includes(s));
        if (allowed.length) grant.addResourceScope(indicator, allowed.join(' '));
        if (denied.length) grant.rejectResourceScope(indicator, denied.join(' '));
      }
    }
    const grantId = await grant.save();

    ctx.respond = false;
    return provider.interactionFinished(ctx.req, ctx.res, {
      consent: { grantId },
    }, { mergeWithLastSubmission: true });
  }

  async function abort(ctx, uid) {
    await details(ctx, uid);
    ctx.respond = false;
    return provider.interactionFinished(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  return async function interactions(ctx, next) {
    const match = route.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    ctx.set('cache-control', 'no-store');
    try {
      if (ctx.method === 'GET' && !action) return await show(ctx, uid);
      if (ctx.method === 'POST' && action === 'login') return await login(ctx, uid);
      if (ctx.method === 'POST' && action === 'confirm') return await confirm(ctx, uid);
      if (ctx.method === 'GET' && action === 'abort') return await abort(ctx, uid);
      ctx.set('allow', action === 'login' || action === 'confirm' ? 'POST' : 'GET');
      return sendHtml(ctx, 405, errorPage({ error: 'method_not_allowed' }));
    } catch (err) {
      ctx.respond = true;
      if (err instanceof errors.OIDCProviderError) {
        if (VERBOSE) console.error(`interaction ${ctx.method} ${ctx.path}: ${err.message} (${err.error_description ?? ''})`);
        return sendHtml(ctx, err.status, errorPage({ error: err.message, error_description: err.error_description }));
      }
      if (err.status === 413) return sendHtml(ctx, 413, errorPage({ error: 'request body too large' }));
      throw err;
    }
  };
}

// ---------------------------------------------------------------------------
// Provider configuration

function configuration(jwk) {
  return {
    clients: CLIENTS,
    jwks: { keys: [jwk] },

    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Plain http on 127.0.0.1: cookies are never Secure here (the library
      // only marks them Secure on https). SameSite=Lax instead of the library's
      // "None" for the session cookie, since browsers drop SameSite=None
      // cookies that are not Secure; every step of the flow is same-site.
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },

    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    // Put the profile/email claims granted through scopes into the ID token.
    conformIdTokenClaims: false,

    async findAccount(ctx, sub) {
      const account = accountsBySub.get(sub);
      if (!account) return undefined;
      return {
        accountId: account.sub,
        async claims() {
          return {
            sub: account.sub,
            name: account.name,
            email: account.email,
            email_verified: true,
          };
        },
      };
    },

    responseTypes: ['code'],
    pkce: {
      methods: ['S256'],
      required: () => true,
    },
    // Refresh tokens are rotated on every use; a used one is refused.
    rotateRefreshToken: true,

    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },

    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => (oneOf ? (oneOf.includes(API) ? API : oneOf) : API),
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resourceIndicator) {
          if (resourceIndicator !== API) throw new errors.InvalidTarget();
          return {
            scope: API_SCOPES.join(' '),
            audience: API,
            accessTokenTTL: ACCESS_TOKEN_TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
      rpInitiatedLogout: {
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = page('Sign out', `<h1>Sign out of Timesheets?</h1>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<h1>You are signed out</h1>');
        },
      },
    },

    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage(out);
    },

    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 60 * 60,
      Interaction: 60 * 60,
      Session: 24 * 60 * 60,
      Grant: 14 * 24 * 60 * 60,
    },
  };
}

// ---------------------------------------------------------------------------
// Start

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', () => {
    server.off('error', reject);
    resolve();
  });
});

const issuer = `http://127.0.0.1:${server.address().port}`;
const jwk = signingKey();
const provider = new Provider(issuer, configuration(jwk));

provider.on('server_error', (ctx, err) => {
  console.error(`server_error ${ctx?.method} ${ctx?.path}:`, err);
});
if (VERBOSE) {
  for (const event of [
    'authorization.error', 'grant.error', 'revocation.error', 'userinfo.error',
    'jwks.error', 'discovery.error', 'end_session.error', 'check_session_origin.error',
  ]) {
    provider.on(event, (ctx, err) => {
      console.error(`${event} ${ctx?.method} ${ctx?.path}: ${err.message} (${err.error_description ?? ''})`);
    });
  }
}

provider.use(interactionRoutes(provider));
server.on('request', provider.callback());

if (KEY_FILE) {
  writeFileSync(KEY_FILE, `${JSON.stringify(jwk)}\n`, { mode: 0o600 });
}

function shutdown(signal) {
  if (VERBOSE) console.error(`received ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
