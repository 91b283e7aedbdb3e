import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_SERVER_NAME } from '../../src/platform/security/local-certificates';

/**
 * A private certificate authority and the certificates it issues, made with the `openssl` command
 * (Node can verify certificates but not make them). The local stack keeps one CA in its folder; a
 * deployment makes its own the same way (`deploy/make-secrets`). Each file is made once and kept:
 * one is issued again only when it is missing, was not issued by this CA, or is about to expire.
 */

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/** What a certificate is for: a server's name (`server`), a client's identity (`client`), or both. */
export type CertificateUse = 'server' | 'client' | 'both';

export interface CertificateRequest {
  /** The file name, without extension, under the CA's folder. */
  name: string;
  /** The subject's common name: the identity a server maps a client certificate to. */
  commonName: string;
  use: CertificateUse;
  /** Names a server answers to (subjectAltName). */
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

const CA_DAYS = 3650;
const LEAF_DAYS = 825;
/** A certificate this close to its end is issued again, so a stack that stays up keeps working. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** Raised when `openssl` is missing or fails; names the command and what it said. */
export class CertificateError extends Error {
  override name = 'CertificateError';
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new CertificateError(
        'the `openssl` command is needed to make certificates; install it (Debian: apt-get install openssl)',
      );
    throw new CertificateError(
      `openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`,
      { cause: err },
    );
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function stillGood(file: string, ca?: crypto.X509Certificate): boolean {
  if (!existsSync(file)) return false;
  try {
    const cert = new crypto.X509Certificate(readFileSync(file));
    if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    return ca ? cert.checkIssued(ca) && cert.verify(ca.publicKey) : true;
  } catch {
    return false;
  }
}

/** Subject names are passed to openssl as `/CN=…`: keep them to characters that need no escaping. */
function checkName(what: string, value: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(value))
    throw new CertificateError(
      `${what} "${value}" must be 1-64 letters, digits, spaces, ".", "_" or "-"`,
    );
}

export class CertificateAuthority {
  readonly certFile: string;
  private readonly keyFile: string;

  /** The CA in `dir` (`ca.crt`, `ca.key`), made if missing; `name` is its common name. */
  constructor(
    readonly dir: string,
    name: string,
  ) {
    checkName('the CA name', name);
    this.certFile = path.join(dir, 'ca.crt');
    this.keyFile = path.join(dir, 'ca.key');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (stillGood(this.certFile) && existsSync(this.keyFile)) return;
    openssl(
      [
        'req',
        '-x509',
        ...EC_KEY,
        '-keyout',
        this.keyFile,
        '-out',
        this.certFile,
        '-days',
        String(CA_DAYS),
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
    chmodSync(this.keyFile, 0o600);
  }

  /** The certificate and key `req.name` in the CA's folder, issued now unless a good one is there. */
  issue(req: CertificateRequest): CertificateFiles {
    checkName('the certificate name', req.name);
    checkName('the common name', req.commonName);
    const files = {
      certFile: path.join(this.dir, `${req.name}.crt`),
      keyFile: path.join(this.dir, `${req.name}.key`),
    };
    const ca = new crypto.X509Certificate(readFileSync(this.certFile));
    if (stillGood(files.certFile, ca) && existsSync(files.keyFile)) return files;
    const csr = path.join(this.dir, `${req.name}.csr`);
    const ext = path.join(this.dir, `${req.name}.ext`);
    const usage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' };
    const names = [
      ...(req.dnsNames ?? []).map((n) => `DNS:${n}`),
      ...(req.ipAddresses ?? []).map((n) => `IP:${n}`),
    ];
    if (req.use !== 'client' && !names.length)
      throw new CertificateError(
        `${req.name}: a server certificate needs a DNS name or an address`,
      );
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        `extendedKeyUsage=${usage[req.use]}`,
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
        ...(names.length ? [`subjectAltName=${names.join(',')}`] : []),
        '',
      ].join('\n'),
    );
    try {
      openssl(
        [
          'req',
          '-new',
          ...EC_KEY,
          '-keyout',
          files.keyFile,
          '-out',
          csr,
          '-subj',
          `/CN=${req.commonName}`,
        ],
        this.dir,
      );
      chmodSync(files.keyFile, 0o600);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          this.certFile,
          '-CAkey',
          this.keyFile,
          '-set_serial',
          `0x${crypto.randomBytes(16).toString('hex')}`,
          '-days',
          String(LEAF_DAYS),
          '-extfile',
          ext,
          '-out',
          files.certFile,
        ],
        this.dir,
      );
    } finally {
      rmSync(csr, { force: true });
      rmSync(ext, { force: true });
    }
    return files;
  }
}

/** The local stack's CA, in its tls folder (src/platform/security/local-certificates.ts). */
export function localCertificateAuthority(tlsDir: string): CertificateAuthority {
  return new CertificateAuthority(tlsDir, 'Shipshape local CA');
}

/** Every local server answers on loopback, by its address and by the name clients check. */
export const LOOPBACK_NAMES = { dnsNames: [LOCAL_SERVER_NAME], ipAddresses: ['127.0.0.1'] };
