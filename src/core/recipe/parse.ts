// Bytes -> validated Recipe. JSON or YAML, told apart by the first character; keys matched case-insensitively.
import YAML from 'yaml';
import type { FieldViolation } from '../errors.js';
import { canonicalKeys, isMapping } from './keys.js';
import { RecipeError } from './error.js';
import type { Recipe } from './types.js';
import { describe, validateRecipe } from './validate.js';

const ROOT = 'recipe';
const rootError = (rule: string) => new RecipeError([{ name: ROOT, message: `${ROOT}: ${rule}` }]);

/** Parses and validates a recipe document; throws RecipeError listing every problem found. */
export function parseRecipe(bytes: Buffer | string): Recipe {
  return toRecipe(parseDocument(decode(bytes)));
}

/** Validates an already-parsed recipe value (e.g. one built in code), normalising its keys. */
export function toRecipe(value: unknown): Recipe {
  if (!isMapping(value)) throw rootError(`must be a JSON object or YAML mapping, got ${value === undefined ? 'an empty document' : describe(value)}`);
  const violations: FieldViolation[] = [];
  const recipe = canonicalKeys(value, violations) as Record<string, unknown>;
  violations.push(...validateRecipe(recipe));
  if (violations.length > 0) throw new RecipeError(violations);
  return recipe as Recipe;
}

function decode(bytes: Buffer | string): string {
  let text: string;
  if (typeof bytes === 'string') text = bytes;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw rootError('is not valid UTF-8 text');
    }
  }
  return text.replace(/^\uFEFF/, '');
}

function parseDocument(text: string): unknown {
  if (text.trim() === '') return undefined;
  const looksLikeJson = /^\s*[{[]/.test(text);
  if (looksLikeJson) {
    try {
      return JSON.parse(text);
    } catch (jsonError) {
      // A YAML flow mapping also starts with '{'; only if that fails too is it broken JSON.
      try {
        return parseYaml(text);
      } catch {
        throw rootError(`is not valid JSON: ${(jsonError as Error).message}`);
      }
    }
  }
  try {
    return parseYaml(text);
  } catch (e) {
    throw rootError(`is not valid JSON or YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * YAML 1.2 core schema, whatever the document's %YAML directive says, so `2020-01-25` stays a string, not a date.
 * A document with no content (only comments) is undefined, told apart from an explicit `null`.
 */
function parseYaml(text: string): unknown {
  const doc = YAML.parseDocument(text, { version: '1.2', schema: 'core', logLevel: 'error' });
  if (doc.errors.length > 0) throw doc.errors[0];
  return doc.contents === null ? undefined : doc.toJS();
}
