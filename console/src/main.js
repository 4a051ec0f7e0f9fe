// The console's shell: the login, the navigation by hash (#/overview, #/coldchain?lot=…), and
// which pages a session may open. The node enforces the same rules on every /v1/console/ read.
import { ApiError, get, post } from './api.js';
import { disposeAll } from './charts.js';
import { readKey } from './keys.js';
import { esc } from './labels.js';
import overview from './pages/overview.js';
import coldchain from './pages/coldchain.js';
import licences from './pages/licences.js';
import auth from './pages/auth.js';
import explorer from './pages/explorer.js';

const PAGES = { overview, coldchain, licences, auth, explorer };
const REGULATOR_ONLY = new Set(['coldchain']);
const main = document.getElementById('main');
let session = null;
let leave = null;

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { page: path || 'overview', params: new URLSearchParams(query ?? '') };
}

function showWho() {
  const who = document.getElementById('who');
  const nav = document.getElementById('nav');
  if (!session) {
    who.innerHTML = '';
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  for (const link of nav.querySelectorAll('a')) {
    link.hidden = link.dataset.view === 'regulator' && session.view !== 'regulator';
  }
  const view = session.view === 'regulator' ? '监管视图' : '部门视图';
  who.innerHTML = `<span id="member">${esc(session.org_name || session.org)} · ${esc(session.name)} · ${view}</span>
    <button id="logout" type="button">退出</button>`;
  document.getElementById('logout').onclick = async () => {
    await post('/v1/console/logout');
    session = null;
    render();
  };
}

function loginPage(problem = '') {
  main.innerHTML = `<section class="card login" id="login">
    <h2>登录控制台</h2>
    <p class="note">以成员密钥签署一次性挑战登录：私钥只在本页用于签名，不会发送。可粘贴 PEM 私钥文件内容（SM2 或 Ed25519，未加密），或选择文件。</p>
    <form id="login-form">
      <textarea id="key" name="key" placeholder="-----BEGIN PRIVATE KEY-----" spellcheck="false" autocomplete="off"></textarea>
      <p><input type="file" id="key-file" accept=".pem,.key,text/plain"></p>
      <p><button class="primary" type="submit">签名登录</button></p>
      <p class="error" id="login-error">${esc(problem)}</p>
    </form></section>`;
  document.getElementById('key-file').onchange = async (event) => {
    const file = event.target.files[0];
    if (file) document.getElementById('key').value = await file.text();
  };
  document.getElementById('login-form').onsubmit = async (event) => {
    event.preventDefault();
    const error = document.getElementById('login-error');
    error.textContent = '';
    try {
      const key = readKey(document.getElementById('key').value);
      const challenge = await post('/v1/console/challenge');
      session = await post('/v1/console/login', {
        public_key: key.publicKey,
        challenge: challenge.challenge,
        signature: key.sign(challenge.message),
      });
      render();
    } catch (e) {
      error.textContent = e instanceof ApiError ? `${e.message}（${e.code}）` : e.message;
    }
  };
}

let generation = 0;

async function render() {
  // A newer navigation supersedes this one: whatever this render still awaits then lands in a
  // view that is no longer on the page.
  const mine = ++generation;
  leave?.();
  leave = null;
  disposeAll();
  // 204 when logged out, so the first look is no error in the browser's console.
  session ??= await get('/v1/console/session');
  if (mine !== generation) return;
  showWho();
  if (!session) return loginPage();
  const { page, params } = route();
  const open = PAGES[page] && !(REGULATOR_ONLY.has(page) && session.view !== 'regulator')
    ? page : 'overview';
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('active', link.dataset.page === open);
  }
  const view = document.createElement('div');
  view.className = 'page';
  main.replaceChildren(view);
  main.dataset.page = open;
  try {
    const left = await PAGES[open](view, params, session);
    if (mine !== generation) {
      left?.();
      return;
    }
    leave = left;
    main.dataset.ready = open;
  } catch (e) {
    if (mine !== generation) return;
    if (e instanceof ApiError && e.status === 401) {
      session = null;
      return render();
    }
    view.insertAdjacentHTML('beforeend', `<p class="card wide error">加载失败：${esc(e.message)}</p>`);
    throw e;
  }
}

window.addEventListener('hashchange', () => {
  delete main.dataset.ready;
  render();
});
render();
