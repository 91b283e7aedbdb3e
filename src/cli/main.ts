import { runCli, shipshapeProgram } from './program';

// The product's commands alone (no local stack): what a deployment's containers run.
runCli(shipshapeProgram());
