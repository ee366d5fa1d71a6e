// Recipe -> text, with canonical key names in a stable order whatever order the recipe object has.
import YAML from 'yaml';
import { canonicalKeys } from './keys.js';
import type { Recipe } from './types.js';

export function recipeToJson(recipe: Recipe): string {
  return JSON.stringify(canonicalKeys(recipe), null, 2);
}

/** Would `text`, written unquoted, read back as the same string under both YAML 1.1 and YAML 1.2? */
function readsBackAsString(text: string): boolean {
  return (['1.1', '1.2'] as const).every((version) => {
    try {
      return YAML.parse(text, { version, logLevel: 'silent' }) === text;
    } catch {
      return false;
    }
  });
}

/**
 * YAML that YAML 1.1 readers (PyYAML, older tools) read the same as 1.2 readers: a string either would take for
 * something else (2020-01-25 as a date, yes as a boolean, 0o17 as a number) is double-quoted. No line folding, so
 * scripts stay as written.
 */
export function recipeToYaml(recipe: Recipe): string {
  const doc = new YAML.Document(canonicalKeys(recipe));
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && !node.value.includes('\n') && !readsBackAsString(node.value)) {
        node.type = 'QUOTE_DOUBLE';
      }
    },
  });
  return doc.toString({ lineWidth: 0 });
}
