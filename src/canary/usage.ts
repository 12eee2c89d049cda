// The canary verbs and their options, apart from the verbs' code so a surface can list them (help,
// argument checks) without loading the controller.
export const CANARY_VERBS = ['start', 'status', 'pause', 'resume', 'promote', 'rollback'] as const;
export type CanaryVerb = (typeof CANARY_VERBS)[number];
export const PLAN_OPTIONS = ['steps', 'step-weight', 'max-weight', 'interval', 'failed-checks', 'gates'];
export const CANARY_USAGE = `canary <service> ${CANARY_VERBS.join('|')} [--steps 5,10,25,50,100 | --step-weight N --max-weight N] [--interval 10m] [--failed-checks N] [--gates start,increase,promotion|none]`;
