// S3's XML bodies: responses are built from plain objects (arrays become repeated elements), requests are
// parsed leniently but must be well-formed; a body that is not becomes S3's MalformedXML error.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from './errors.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

export type XmlValue = string | number | boolean | Date | undefined | XmlElement | XmlValue[];
export interface XmlElement {
  [name: string]: XmlValue;
}

/** Dates as S3 writes them in XML; undefined members are left out. */
function normalise(value: XmlValue): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalise(v);
    return out;
  }
  return value;
}

/** A response document: `<root xmlns="…S3…">content</root>`. */
export function xmlDocument(root: string, content: XmlElement, namespace = true): string {
  const element = namespace ? { '@_xmlns': S3_XMLNS, ...content } : content;
  return DECLARATION + builder.build({ [root]: normalise(element) });
}

/** Parses a request body whose root element must be `root`; elements named in `arrays` are always lists. */
export function parseXmlBody(body: Buffer, root: string, arrays: string[] = []): Record<string, unknown> {
  const text = body.toString('utf8');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new S3Error('MalformedXML', 400, `The XML you provided was not well-formed or did not validate against our published schema: ${valid.err.msg} (line ${valid.err.line}).`);
  }
  const parsed = new XMLParser({ parseTagValue: false, ignoreDeclaration: true, isArray: (name) => arrays.includes(name) }).parse(text);
  const top = parsed?.[root];
  if (top === undefined) {
    throw new S3Error('MalformedXML', 400, `The XML you provided was not well-formed or did not validate against our published schema: the root element must be <${root}>.`);
  }
  return typeof top === 'object' && top !== null ? top : {};
}
