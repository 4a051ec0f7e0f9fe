// The member's key, read in the browser only to sign the login challenge: PKCS#8 PEM as
// `xinlian key generate` and `openssl genpkey` write it (unencrypted), or the raw 32-byte key in
// hex with its scheme (`sm2:…`, `ed25519:…`). The key never leaves the page.
import { sm2 } from 'sm-crypto';
import { ed25519 } from '@noble/curves/ed25519.js';

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (text) => Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));

// OIDs as DER content bytes: SM2's curve (1.2.156.10197.1.301) and Ed25519 (1.3.101.112).
const SM2_CURVE = [0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
const ED25519 = [0x2b, 0x65, 0x70];

function indexOf(bytes, pattern, from = 0) {
  outer: for (let i = from; i + pattern.length <= bytes.length; i++) {
    for (let j = 0; j < pattern.length; j++) if (bytes[i + j] !== pattern[j]) continue outer;
    return i;
  }
  return -1;
}

function fromPem(pem) {
  if (pem.includes('ENCRYPTED PRIVATE KEY')) {
    throw new Error('这是加密的密钥文件：浏览器不解密，请先用 openssl pkey -in 文件 解密后粘贴（密钥只在本页使用，不会发出）');
  }
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  if (indexOf(der, SM2_CURVE) >= 0) {
    // ECPrivateKey: version 1 (02 01 01), then the 32-byte key (04 20 …).
    const at = indexOf(der, [0x02, 0x01, 0x01, 0x04, 0x20]);
    if (at < 0) throw new Error('SM2 密钥文件格式无法识别');
    return { scheme: 'sm2', secret: der.slice(at + 5, at + 37) };
  }
  if (indexOf(der, ED25519) >= 0) {
    // The seed as an OCTET STRING inside the privateKey OCTET STRING (04 22 04 20 …).
    const at = indexOf(der, [0x04, 0x22, 0x04, 0x20]);
    if (at < 0) throw new Error('Ed25519 密钥文件格式无法识别');
    return { scheme: 'ed25519', secret: der.slice(at + 4, at + 36) };
  }
  throw new Error('不是 SM2 或 Ed25519 私钥');
}

/** Reads a key from what the user pasted or chose. */
export function readKey(text) {
  const trimmed = text.trim();
  let key;
  if (trimmed.startsWith('-----BEGIN')) {
    key = fromPem(trimmed);
  } else {
    const m = /^(sm2|ed25519):([0-9a-fA-F]{64})$/.exec(trimmed);
    if (!m) throw new Error('请粘贴 PEM 私钥文件内容，或 sm2:/ed25519: 加 64 位十六进制私钥');
    key = { scheme: m[1], secret: unhex(m[2].toLowerCase()) };
  }
  if (key.scheme === 'sm2') {
    const secretHex = hex(key.secret);
    const point = sm2.getPublicKeyFromPrivateKey(secretHex);
    return {
      publicKey: 'sm2:' + point,
      // SM3 over Z (default user ID 1234567812345678) and the message, r‖s in hex: as the node verifies.
      sign: (message) => sm2.doSignature(message, secretHex, { hash: true, publicKey: point }),
    };
  }
  const publicKey = ed25519.getPublicKey(key.secret);
  return {
    publicKey: 'ed25519:' + hex(publicKey),
    sign: (message) => hex(ed25519.sign(new TextEncoder().encode(message), key.secret)),
  };
}
