// The XML S3 speaks, both ways. Parsing: S3's responses are element trees without mixed content, attributes that
// matter, CDATA or DTDs, so a tokenizer over tags builds the tree in one pass (docs/decisions.md "Lean S3 client");
// text is entity-decoded. Escaping: the request bodies we build (CompleteMultipartUpload, DeleteObjects,
// PutObjectTagging) carry keys and tag values a user chose.

import { CodedError } from '../errors/coded-error.ts';

export interface XmlNode {
  readonly name: string;
  readonly children: XmlNode[];
  text: string;
}

const TOKEN = /<(\/?)([A-Za-z_][\w.:-]*)[^>]*?(\/?)>|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>/g;
const ENTITY = /&(?:#x([0-9a-fA-F]+)|#(\d+)|(amp|lt|gt|quot|apos));/g;
const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (_, hex: string | undefined, dec: string | undefined, named: string | undefined) => {
    if (named !== undefined) return NAMED[named] ?? '';
    const cp = Number.parseInt(hex ?? dec ?? '', hex === undefined ? 10 : 16);
    return Number.isInteger(cp) && cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
  });
}

export const S3_XML_ERROR = 'SFTPGATE_S3_XML';

/** An S3 answer that is not the XML document expected. */
export class XmlError extends CodedError<typeof S3_XML_ERROR> {
  constructor(message: string) {
    super(S3_XML_ERROR, message);
  }
}

/** The document's root element. Throws XmlError on unbalanced tags or no root. */
export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '', children: [], text: '' };
  const stack: XmlNode[] = [root];
  let last = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(xml); m !== null; m = TOKEN.exec(xml)) {
    const top = stack[stack.length - 1] as XmlNode;
    if (m.index > last && stack.length > 1) top.text += decodeEntities(xml.slice(last, m.index));
    last = TOKEN.lastIndex;
    const [, closing, name, selfClosing, cdata] = m;
    if (cdata !== undefined) {
      top.text += cdata;
    } else if (name === undefined) {
      // processing instruction or comment
    } else if (closing) {
      if (top.name !== name) throw new XmlError(`unbalanced XML: </${name}> closes <${top.name}>`);
      stack.pop();
    } else {
      const node: XmlNode = { name, children: [], text: '' };
      top.children.push(node);
      if (!selfClosing) stack.push(node);
    }
  }
  const doc = root.children[0];
  if (stack.length !== 1 || doc === undefined) throw new XmlError('no complete XML document');
  return doc;
}

/** The first child named `name`. */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined) return undefined;
  for (const c of node.children) if (c.name === name) return c;
  return undefined;
}

/** Every child named `name`. */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  return node === undefined ? [] : node.children.filter((c) => c.name === name);
}

/** The text of the first child named `name`, or undefined when there is none. */
export function text(node: XmlNode | undefined, name: string): string | undefined {
  return child(node, name)?.text;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
  '\n': '&#10;',
  '\t': '&#9;',
};

/** Text or attribute content; CR/LF/TAB as character references so XML parsers do not normalise them away. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"'\r\n\t]/g, (c) => ESCAPES[c] ?? c);
}
