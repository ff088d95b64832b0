// Credential blob encryption (keystone/credential/providers/fernet): Fernet with the credential key repository, key_hash naming the key.
import { createHash } from 'node:crypto';
import { InternalError } from '@alto/kernel';
import type { Clock } from '@alto/kernel';
import { InvalidFernetToken, MultiFernet, parseFernetKey } from './fernet.js';
import type { FernetKey } from './fernet.js';
import { KeyRepositoryError, KeyRepositoryReader, type FernetKeySource } from './key-repository.js';

/**
 * Keystone keeps at most three credential keys and exposes no option for it: a rotation is only
 * safe once every credential is encrypted with the primary key (see migrateCredentialKeys).
 */
export const CREDENTIAL_MAX_ACTIVE_KEYS = 3;

/** keystone's fernet_utils.NULL_KEY: what upstream encrypts with while the repository has no keys. */
export const NULL_KEY: FernetKey = parseFernetKey(`${Buffer.alloc(32).toString('base64url')}=`);

/** keystone's primary_key_hash(): sha1 of the primary key as written in its file. */
export function keyHash(key: FernetKey): string {
  return createHash('sha1').update(key.encoded, 'utf8').digest('hex');
}

const withNullKey = (keys: readonly FernetKey[]): readonly FernetKey[] => [...keys, NULL_KEY];

/**
 * A blob no key opens: the repository lost the key that wrote it. Upstream's
 * CredentialEncryptionError, a 500 whose details only the log sees.
 */
export function CredentialUndecryptable(): InternalError {
  return new InternalError(undefined, 'identity.credential_undecryptable');
}

export interface EncryptedBlob {
  encryptedBlob: string;
  keyHash: string;
}

export interface CredentialCipherOptions {
  keys: FernetKeySource;
  clock: Clock;
  /** Said once per process when blobs are written with the null key (no repository yet). */
  onNullKey?: (message: string) => void;
}

/**
 * Encrypts with the primary key of the credential key repository and decrypts with any of its
 * keys. Without a repository (missing or empty) it falls back to the null key, as Keystone does,
 * so a deployment that never ran `alto credential setup` still works; a warning says so.
 */
export class CredentialCipher {
  readonly #keys: FernetKeySource;
  readonly #clock: Clock;
  readonly #onNullKey: (message: string) => void;
  #warned = false;

  constructor(options: CredentialCipherOptions) {
    this.#keys = options.keys;
    this.#clock = options.clock;
    this.#onNullKey = options.onNullKey ?? (() => {});
  }

  /**
   * The keys in use, primary first. The null key always comes last, as upstream's
   * load_keys(use_null_key=True) appends it, so blobs written before the repository existed
   * stay readable until a rotation re-encrypts them; alone, it is also the primary.
   */
  async keys(): Promise<readonly FernetKey[]> {
    try {
      return withNullKey(await this.#keys.keys());
    } catch (err) {
      if (err instanceof KeyRepositoryError && (err.problem === 'missing' || err.problem === 'empty')) return [NULL_KEY];
      throw err;
    }
  }

  async primaryKeyHash(): Promise<string> {
    return keyHash((await this.keys())[0]!);
  }

  async encrypt(plaintext: string): Promise<EncryptedBlob> {
    const keys = await this.keys();
    const primary = keys[0]!;
    if (primary === NULL_KEY && !this.#warned) {
      this.#warned = true;
      this.#onNullKey('Encrypting credentials with the null key. Run `alto credential setup` to create the credential key repository, then `alto credential rotate` to re-encrypt them.');
    }
    return { encryptedBlob: new MultiFernet(keys, { clock: this.#clock }).encrypt(Buffer.from(plaintext, 'utf8')), keyHash: keyHash(primary) };
  }

  async decrypt(encryptedBlob: string): Promise<string> {
    const open = (keys: readonly FernetKey[]) => new MultiFernet(keys, { clock: this.#clock }).decrypt(encryptedBlob).plaintext.toString('utf8');
    try {
      return open(await this.keys());
    } catch (err) {
      if (!(err instanceof InvalidFernetToken) || err.reason !== 'signature') throw CredentialUndecryptable();
    }
    // another process may have rotated since we last read the repository
    const fresh = await this.#keys.keysAfterMiss().catch(() => undefined);
    if (fresh) {
      try {
        return open(withNullKey(fresh));
      } catch {
        // fall through
      }
    }
    throw CredentialUndecryptable();
  }
}

/** The cipher over a key repository directory, re-read as the token keys are (a rotation elsewhere is picked up). */
export function credentialCipherFor(path: string, clock: Clock, onWarning: (message: string) => void = () => {}): CredentialCipher {
  const keys = new KeyRepositoryReader({
    path,
    clock,
    onWarning,
    onReloadError: (e) => onWarning(`credential key repository could not be re-read; keeping the keys already loaded: ${e.message}`),
  });
  return new CredentialCipher({ keys, clock, onNullKey: onWarning });
}
