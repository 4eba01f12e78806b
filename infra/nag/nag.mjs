// nag.mjs runs cdk-nag's AwsSolutions rules on a CloudFormation template:
//
//   node nag.mjs TEMPLATE.json
//
// The template is included in a CDK app with cloudformation-include, so the
// rules see exactly the resources and properties the template holds. A
// resource suppresses a finding in its own CloudFormation metadata, the
// format cdk-nag writes (the Go stack adds it with latchkeystack.suppress):
//
//   Metadata:
//     cdk_nag:
//       rules_to_suppress:
//         - id: AwsSolutions-IAM5[Resource::*]
//           reason: why the finding does not apply, in a sentence
//
// Every finding is printed: rule, resource logical ID, level, message, and
// for a suppressed one its reason. The exit status is 0 when no error
// remains unsuppressed (warnings are printed, not fatal), 1 when one does,
// and 2 when the template cannot be checked or a suppression is malformed
// (no id, or a reason shorter than MIN_REASON characters).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { App, Stack, Validations } = require('aws-cdk-lib');
const { CfnInclude } = require('aws-cdk-lib/cloudformation-include');
const { AwsSolutionsChecks } = require('cdk-nag');

// A reason names why the rule does not apply here; a word or two does not.
export const MIN_REASON = 20;

const INCLUDE_ID = 'Template';

function main(argv) {
  if (argv.length !== 1) {
    console.error('usage: node nag.mjs TEMPLATE.json');
    return 2;
  }
  const file = argv[0];
  let template;
  try {
    template = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`nag: reading ${file}: ${err.message}`);
    return 2;
  }

  // No synthesis: the rules run on the construct tree (validateScope), and
  // an App left to synthesize on exit (CDK_OUTDIR set) would add a second
  // BootstrapVersion parameter to the included one.
  const app = new App({ autoSynth: false });
  const stack = new Stack(app, 'Nag');
  const included = new CfnInclude(stack, INCLUDE_ID, { templateFile: file });
  const checks = new AwsSolutionsChecks(app, { verbose: true });

  // Every finding first, before any suppression is applied, so that a
  // suppression can be shown beside the finding it answers and one that
  // answers nothing can be reported.
  const all = findings(checks.validateScope(stack));

  const suppressions = [];
  const problems = [];
  for (const id of Object.keys(template.Resources ?? {})) {
    const resource = included.getResource(id);
    // cloudformation-include keeps a resource's Metadata, so the
    // suppressions are read from the included resource itself.
    const meta = resource.getMetadata('cdk_nag');
    if (meta === undefined) {
      continue;
    }
    const rules = meta?.rules_to_suppress;
    if (!Array.isArray(rules)) {
      problems.push(`${id}: Metadata.cdk_nag.rules_to_suppress must be a list of {id, reason}`);
      continue;
    }
    for (const rule of rules) {
      const ruleId = typeof rule?.id === 'string' ? rule.id.trim() : '';
      const reason = typeof rule?.reason === 'string' ? rule.reason.trim() : '';
      if (ruleId === '') {
        problems.push(`${id}: a suppression without a rule id`);
        continue;
      }
      if (reason.length < MIN_REASON) {
        problems.push(`${id}: suppression of ${ruleId} needs a reason of at least ${MIN_REASON} characters (got ${JSON.stringify(reason)})`);
        continue;
      }
      acknowledge(resource, ruleId, reason);
      suppressions.push({ resource: id, rule: ruleId, reason });
    }
  }
  if (problems.length > 0) {
    for (const p of problems) {
      console.error(`nag: ${p}`);
    }
    return 2;
  }

  const open = new Set(findings(checks.validateScope(stack)).map(key));
  const suppressed = new Map(suppressions.map((s) => [key(s), s]));
  let errors = 0;
  let warnings = 0;
  for (const f of all) {
    const s = suppressed.get(key(f));
    if (open.has(key(f))) {
      if (f.level === 'error') {
        errors++;
      } else {
        warnings++;
      }
      console.log(`${f.level.toUpperCase()} ${f.rule} ${f.resource}: ${f.message}`);
    } else if (s) {
      console.log(`SUPPRESSED ${f.level.toUpperCase()} ${f.rule} ${f.resource}: ${s.reason}`);
    }
  }
  const found = new Set(all.map(key));
  for (const s of suppressions) {
    if (!found.has(key(s))) {
      console.log(`UNUSED SUPPRESSION ${s.rule} ${s.resource}: no such finding (${s.reason})`);
    }
  }
  console.log(`nag: ${errors} unsuppressed error(s), ${warnings} unsuppressed warning(s), ${suppressions.length} suppression(s)`);
  return errors > 0 ? 1 : 0;
}

// acknowledge records a suppression on the included resource, where cdk-nag
// looks for it. Validations.acknowledge refuses an id with more than one
// "::" (its prefix delimiter), which an IAM5 finding on a resource ARN such
// as Resource::arn:<AWS::Partition>:… has; such an id is recorded under the
// same metadata key directly, which is what acknowledge itself does.
function acknowledge(resource, ruleId, reason) {
  if (ruleId.split('::').length <= 2) {
    Validations.of(resource).acknowledge({ id: ruleId, reason });
    return;
  }
  const key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;
  const prior = resource.node.metadata.filter((m) => m.type === key).at(-1)?.data ?? {};
  resource.node.addMetadata(key, { ...prior, [ruleId]: reason });
}

// findings flattens a validation report into one finding per rule and
// resource; the resource is the logical ID, the last part of the construct
// path under the included template.
function findings(report) {
  const out = [];
  for (const v of report.violations) {
    for (const r of v.violatingResources) {
      const parts = r.constructPath.split('/');
      const at = parts.indexOf(INCLUDE_ID);
      const resource = at >= 0 && at + 1 < parts.length ? parts.slice(at + 1).join('/') : r.constructPath;
      out.push({ rule: v.ruleName, resource, level: v.severity, message: v.description });
    }
  }
  out.sort((a, b) => a.rule.localeCompare(b.rule) || a.resource.localeCompare(b.resource));
  return out;
}

function key(f) {
  return `${f.rule}\u0000${f.resource}`;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(`nag: ${err.stack ?? err}`);
  process.exitCode = 2;
}
