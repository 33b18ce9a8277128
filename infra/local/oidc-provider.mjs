// A real OpenID Connect provider for the tests (npm oidc-provider 8.x, a certified implementation), on a free
// 127.0.0.1 port. One confidential client (code flow, PKCE required) and three users:
//   viewer   — roles ["viewer"]      operator — roles ["operator"]      norole — no roles
// Its development interactions are the login page: any of the user names above, any password.
// Refresh tokens are issued on every sign-in and rotated on every use (the service's role recheck redeems them), and
// PUT /test/roles/{user} with a JSON array of roles changes a user's roles while it runs (what an administrator
// does at the provider), so the next token issued for that user carries them.
//
// Usage: node infra/local/oidc-provider.mjs REDIRECT_URI
//   Prints one JSON line on stdout: {"issuer": "...", "clientId": "...", "clientSecret": "..."}; runs until killed.
import net from 'node:net';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const redirectUri = process.argv[2];
if (!redirectUri) {
  console.error('usage: oidc-provider.mjs REDIRECT_URI');
  process.exit(2);
}

const users = {
  viewer: { name: 'Vera Viewer', roles: ['viewer'] },
  operator: { name: 'Otto Operator', roles: ['operator'] },
  norole: { name: 'Nora Norole', roles: [] },
};

const freePort = () => new Promise((resolve, reject) => {
  const probe = net.createServer();
  probe.once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

const port = await freePort();
const issuer = `http://127.0.0.1:${port}`;
const clientId = 'secureimage-test';
const clientSecret = crypto.randomBytes(24).toString('base64url');

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  pkce: { methods: ['S256'], required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'roles'] },
  // The ID token carries the profile claims (the service reads the role from it, as from Entra's ID token).
  conformIdTokenClaims: false,
  findAccount: (ctx, id) => (Object.hasOwn(users, id)
    ? { accountId: id, claims: () => ({ sub: id, name: users[id].name, roles: users[id].roles }) }
    : undefined),
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: { devInteractions: { enabled: true } },
  // Whatever the prompt (oidc-provider keeps offline_access only with prompt=consent): the service asks for it.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => true,
});

provider.use(async (ctx, next) => {
  const match = /^\/test\/roles\/([a-z]+)$/.exec(ctx.path);
  if (ctx.method !== 'PUT' || !match) {
    await next();
    return;
  }

  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const roles = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!Object.hasOwn(users, match[1]) || !Array.isArray(roles)) {
    ctx.status = 400;
    return;
  }

  users[match[1]].roles = roles;
  ctx.status = 204;
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ issuer, clientId, clientSecret }) + '\n');
});
