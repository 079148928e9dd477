// The one ssh2 internal the pod touches directly: lib/protocol/crypto.js, to check at startup that
// patches/ssh2@1.17.0.patch is in the code that runs (ssh2-patch.ts). Only what that check uses is declared.
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
