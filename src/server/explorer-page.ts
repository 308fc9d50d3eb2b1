/**
 * What the explorer sends to the browser besides the npm bundles: the page,
 * its small stylesheet, the script that mounts GraphiQL, and the example
 * document. Kept as plain strings (no JSX, no build step): the browser runs
 * the script as is, next to the UMD builds of React, GraphiQL and graphql-ws.
 */

/** The document a first visit opens with: one operation per step of a first conversation. */
export const EXAMPLE_DOCUMENT = `# Parley explorer. Paste an API key above (PARLEY_ADMIN_KEY, or a key from
# createUser) and press Enter, then run the operations below in order with ▶:
#   1. Viewer             whom the key belongs to
#   2. StartConversation  copy conversation.id into "conversationId" (Variables, below)
#   3. SendMessage        the built-in demo model answers; copy run.id into "runId"
#   4. RunEvents          the run's events, token by token, over WebSocket
# Explorer docs: the book icon on the left (needs PARLEY_INTROSPECTION on).

query Viewer {
  viewer {
    id
    email
    role
  }
}

mutation StartConversation {
  createConversation(input: { title: "Explorer" }) {
    conversation {
      id
      title
    }
  }
}

mutation SendMessage($conversationId: ID!) {
  sendMessage(input: { conversationId: $conversationId, content: "Hello! What can you do?", model: "demo/demo" }) {
    message {
      id
    }
    run {
      id
      status
    }
  }
}

subscription RunEvents($runId: ID!) {
  runEvents(runId: $runId, after: 0) {
    __typename
    seq
    ... on TokenDelta {
      text
    }
    ... on ReasoningDelta {
      text
    }
    ... on ToolCallStarted {
      name
    }
    ... on RunCompleted {
      usage {
        totalTokens
        costUsd
      }
    }
    ... on RunFailed {
      error {
        code
        message
      }
    }
  }
}
`;

export const EXAMPLE_VARIABLES = `{
  "conversationId": "",
  "runId": ""
}`;

/** Assets the page links to, by logical name; the server fills in their hashed URLs. */
export interface PageAssets {
  css: string[];
  js: string[];
}

/** What the client script reads from the page (a JSON block: no inline script, so the CSP can forbid them). */
export interface PageConfig {
  defaultQuery: string;
  defaultVariables: string;
}

const escapeJsonForHtml = (value: unknown) =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

const escapeAttr = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function renderPage(assets: PageAssets, config: PageConfig): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>Parley explorer</title>
${assets.css.map((href) => `<link rel="stylesheet" href="${escapeAttr(href)}">`).join('\n')}
</head>
<body>
<div id="parley-explorer"><noscript>The Parley explorer needs JavaScript.</noscript></div>
<script type="application/json" id="parley-explorer-config">${escapeJsonForHtml(config)}</script>
${assets.js.map((src) => `<script src="${escapeAttr(src)}"></script>`).join('\n')}
</body>
</html>
`;
}

export const EXPLORER_CSS = `html, body { height: 100%; margin: 0; }
#parley-explorer { height: 100vh; display: flex; flex-direction: column; }
.parley-bar {
  display: flex; align-items: center; gap: 8px; padding: 6px 12px;
  font: 14px system-ui, sans-serif; border-bottom: 1px solid hsla(219, 28%, 32%, 0.15);
}
.parley-bar .parley-title { font-weight: 600; margin-right: 8px; }
.parley-bar label, .parley-bar button { white-space: nowrap; }
.parley-bar input { flex: 0 1 32em; min-width: 8em; padding: 4px 6px; font: 13px ui-monospace, monospace; }
.parley-bar .parley-status {
  color: hsla(219, 28%, 32%, 0.8); font-size: 12px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.parley-graphiql { flex: 1; min-height: 0; }
`;

/**
 * Runs in the browser (plain ES2017, globals from the UMD builds: React,
 * ReactDOM, GraphiQL, graphqlWs). GraphQL requests go to the page's own URL:
 * the explorer is served at the endpoint, so a path prefix added by a proxy
 * is kept. Subscriptions use graphql-ws on the same URL; the key goes in
 * `connectionParams.authorization`, as src/server/app.ts reads it.
 */
export const EXPLORER_SCRIPT = `(function () {
  'use strict';
  var h = React.createElement;
  var config = JSON.parse(document.getElementById('parley-explorer-config').textContent);
  // ws matches the upgrade's path exactly: /graphql/ would miss it.
  var endpoint = location.origin + (location.pathname.replace(/\\/+$/, '') || '/');
  var wsEndpoint = endpoint.replace(/^http/, 'ws');
  // Per tab, so a key does not outlive the browser session; never in the URL.
  var KEY_STORAGE = 'parley.explorer.apiKey';

  function readKey() {
    try { return sessionStorage.getItem(KEY_STORAGE) || ''; } catch (e) { return ''; }
  }
  function saveKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key); else sessionStorage.removeItem(KEY_STORAGE);
    } catch (e) { /* storage disabled: the key lasts as long as the page */ }
  }
  function bearer(key) {
    key = key.trim();
    if (!key) return undefined;
    return /^bearer\\s/i.test(key) ? key : 'Bearer ' + key;
  }
  // GraphiQL 4 opens a first visit's tab without the tab's variables: pass them as the
  // initial variables then, and never again (a stored session keeps its own).
  function firstVisit() {
    try { return !localStorage.getItem('graphiql:tabState'); } catch (e) { return true; }
  }
  function authorizationHeader(headers) {
    for (var name in headers || {}) if (name.toLowerCase() === 'authorization') return headers[name];
    return undefined;
  }

  // HTTP for queries and mutations, graphql-ws for subscriptions. An Authorization
  // header typed in GraphiQL's header editor wins over the key field, on both.
  function createParleyFetcher(key) {
    var fromKey = bearer(key);
    var byAuthorization = {};
    function fetcherFor(authorization) {
      var slot = authorization || '';
      if (!byAuthorization[slot]) {
        var wsClient = graphqlWs.createClient({
          url: wsEndpoint,
          lazy: true,
          retryAttempts: 0,
          connectionParams: authorization ? { authorization: authorization } : {},
        });
        byAuthorization[slot] = {
          wsClient: wsClient,
          fetch: GraphiQL.createFetcher({ url: endpoint, wsClient: wsClient, enableIncrementalDelivery: false }),
        };
      }
      return byAuthorization[slot].fetch;
    }
    function fetcher(params, opts) {
      var headers = Object.assign({}, opts && opts.headers);
      var authorization = authorizationHeader(headers) || fromKey;
      if (authorization && !authorizationHeader(headers)) headers.Authorization = authorization;
      return fetcherFor(authorization)(params, Object.assign({}, opts, { headers: headers }));
    }
    fetcher.dispose = function () {
      Object.keys(byAuthorization).forEach(function (slot) { byAuthorization[slot].wsClient.dispose(); });
    };
    return fetcher;
  }

  function App() {
    var initial = React.useMemo(readKey, []);
    var initialVariables = React.useMemo(function () { return firstVisit() ? config.defaultVariables : undefined; }, []);
    var keyState = React.useState(initial);
    var draftState = React.useState(initial);
    var key = keyState[0], setKey = keyState[1], draft = draftState[0], setDraft = draftState[1];
    // A new fetcher per key: GraphiQL then loads the schema again with it.
    var fetcher = React.useMemo(function () { return createParleyFetcher(key); }, [key]);
    React.useEffect(function () { return function () { fetcher.dispose(); }; }, [fetcher]);
    function apply(event) {
      if (event) event.preventDefault();
      var next = draft.trim();
      if (next === key) return;
      saveKey(next);
      setKey(next);
    }
    return h(React.Fragment, null,
      h('form', { className: 'parley-bar', onSubmit: apply },
        h('span', { className: 'parley-title' }, 'Parley'),
        h('label', { htmlFor: 'parley-api-key' }, 'API key'),
        h('input', {
          id: 'parley-api-key', type: 'password', autoComplete: 'off', spellCheck: false,
          placeholder: 'pk_… (PARLEY_ADMIN_KEY or a key from createUser), then Enter',
          value: draft, onChange: function (e) { setDraft(e.target.value); }, onBlur: apply,
        }),
        h('button', { type: 'submit' }, 'Use key'),
        h('span', { className: 'parley-status', id: 'parley-key-status', 'data-key': key ? 'set' : 'none' },
          key ? 'Key set: sent as Authorization: Bearer …, and in connectionParams for subscriptions' : 'No key: requests are anonymous')),
      h('div', { className: 'parley-graphiql' },
        h(GraphiQL, {
          fetcher: fetcher,
          defaultQuery: config.defaultQuery,
          variables: initialVariables,
          defaultEditorToolsVisibility: 'variables',
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: false,
        })));
  }

  ReactDOM.createRoot(document.getElementById('parley-explorer')).render(h(App));
})();
`;
