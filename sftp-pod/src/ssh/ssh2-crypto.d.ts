// The one ssh2 internal the pod touches directly: lib/protocol/crypto.js, to check at startup that
// patches/ssh2@1.17.0.patch and ssh2's native crypto binding are in the code that runs (ssh2-patch.ts). Only what that check uses is declared.
declare module 'ssh2/lib/protocol/crypto.js' {
  interface CipherInfo {
    readonly keyLen: number;
    readonly ivLen: number;
  }
  interface OutboundCipher {
    allocPacket(payloadLen: number): Buffer;
    encrypt(packet: Buffer): void;
  }
  const crypto: {
    readonly CIPHER_INFO: Readonly<Record<string, CipherInfo>>;
    /** True when ssh2 loaded its native binding (lib/protocol/crypto/build/Release/sshcrypto.node). */
    readonly bindingAvailable: boolean;
    /** patches/ssh2@1.17.0.patch: whether a packet buffer came from ssh2's pool and is not yet given back. */
    readonly isPooledPacket?: (packet: Uint8Array) => boolean;
    /** patches/ssh2@1.17.0.patch: gives a pooled packet buffer back once the socket has written it. */
    readonly releasePacket?: (packet: Uint8Array) => boolean;
    createCipher(config: {
      outbound: {
        onWrite(data: Uint8Array): void;
        cipherInfo: CipherInfo;
        cipherKey: Buffer;
        cipherIV: Buffer;
        seqno: number;
        forceNative: boolean;
      };
    }): OutboundCipher;
  };
  export default crypto;
}
