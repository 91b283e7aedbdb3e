import Mocha from 'mocha';

/** Mocha's spec reporter, plus a plain closing line "N passed, N failed" that any CI reads. */
class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      process.stdout.write(`${s?.passes ?? 0} passed, ${s?.failures ?? 0} failed\n`);
    });
  }
}

export = SpecWithSummary;
