// ssh2 internals the pod uses that @types/ssh2 does not declare (a static import, so the bundle carries them).
declare module 'ssh2/lib/protocol/utils.js' {
  const utils: {
    /** SSH signature blob to DER (ECDSA), undefined when malformed. */
    sigSSHToASN1(sig: Buffer, type: string): Buffer | undefined;
  };
  export default utils;
}

declare module 'ssh2/lib/Channel.js' {
  const channel: {
    /** patches/ssh2@1.17.0.patch: buffered channel writes leave packed into full CHANNEL_DATA packets. */
    readonly Channel: { readonly prototype: { readonly _writev?: unknown } };
  };
  export default channel;
}
