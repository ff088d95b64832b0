// renderSample: the commented policy.yaml oslopolicy-sample-generator writes for a namespace,
// so operators get the same file (descriptions, operations, scopes, deprecations) from us.
import { pyIsBlank, pyLen, pyLstrip, pyRepr, pyRstrip, pySplitlines, pyStrip } from './python.js';
import type { RuleDefault } from './rule-default.js';
import { wrap } from './textwrap.js';

export interface SampleOptions {
  /** oslopolicy-sample-generator --exclude-deprecated. */
  readonly excludeDeprecated?: boolean;
}

/** generator._format_help_text: wrap paragraphs at 70 columns as `# ` comments, keep literal blocks. */
function formatHelpText(description: string | undefined): string {
  if (description === undefined || description === '') return '#';
  const out: string[] = [];
  let paragraph: string[] = [];
  const wrapParagraph = (lines: readonly string[]): string[] => wrap(lines.join(' '), { width: 70, initialIndent: '# ', subsequentIndent: '# ' });
  for (const line of pySplitlines(pyStrip(description))) {
    if (pyIsBlank(line)) {
      out.push(...wrapParagraph(paragraph), '#');
      paragraph = [];
    } else if (pyLen(line) === pyLen(pyLstrip(line))) {
      paragraph.push(pyRstrip(line));
    } else {
      // An indented line is a literal block; oslo flushes the paragraph before it (and warns).
      if (paragraph.length > 0) {
        out.push(...wrapParagraph(paragraph), '#');
        paragraph = [];
      }
      out.push(`# ${pyRstrip(line)}`);
    }
  }
  if (paragraph.length > 0) out.push(...wrapParagraph(paragraph));
  return out.join('\n');
}

/** generator._format_rule_default_yaml with help text and the rule commented out. */
export function renderRuleSample(rule: RuleDefault, options: SampleOptions = {}): string {
  const addDeprecated = options.excludeDeprecated !== true;
  let text = `"${rule.name}": "${rule.checkStr}"\n`;
  let ops = '';
  for (const op of rule.operations ?? []) {
    // Python's truthiness and str(): an empty method or path is skipped, a list prints as a list.
    if (op.method.length > 0 && op.path !== '') ops += `# ${typeof op.method === 'string' ? op.method : pyRepr(op.method)}  ${op.path}\n`;
  }
  const scope = rule.scopeTypes === undefined ? '' : `# Intended scope(s): ${rule.scopeTypes.join(', ')}\n`;
  text = `${ops}${scope}#${text}\n`;
  if (rule.description !== undefined && rule.description !== '') text = `${formatHelpText(rule.description)}\n${text}`;

  if (addDeprecated && rule.deprecatedForRemoval === true) {
    return `# DEPRECATED\n# "${rule.name}" has been deprecated since ${rule.deprecatedSince ?? 'None'}.\n${formatHelpText(rule.deprecatedReason)}\n${text}`;
  }
  const deprecated = rule.deprecatedRule;
  if (addDeprecated && deprecated !== undefined) {
    const reason = deprecated.deprecatedReason ?? rule.deprecatedReason;
    const since = deprecated.deprecatedSince ?? rule.deprecatedSince ?? 'None';
    const deprecatedText = `"${deprecated.name}":"${deprecated.checkStr}" has been deprecated since ${since} in favor of "${rule.name}":"${rule.checkStr}".`;
    text = `${text}# DEPRECATED\n${formatHelpText(deprecatedText)}\n${formatHelpText(reason)}\n`;
    if (rule.name !== deprecated.name) {
      text +=
        '# WARNING: A rule name change has been identified.\n' +
        '#          This may be an artifact of new rules being\n' +
        '#          included which require legacy fallback\n' +
        '#          rules to ensure proper policy behavior.\n' +
        '#          Alternatively, this may just be an alias.\n' +
        '#          Please evaluate on a case by case basis\n' +
        '#          keeping in mind the format for aliased\n' +
        '#          rules is:\n' +
        '#          "old_rule_name": "new_rule_name".\n' +
        `# "${deprecated.name}": "rule:${rule.name}"\n`;
    }
    text += '\n';
  }
  return text;
}

/** The sample policy.yaml for a list of defaults, in registration order. */
export function renderSample(defaults: readonly RuleDefault[], options: SampleOptions = {}): string {
  return defaults.map((rule) => renderRuleSample(rule, options)).join('');
}
