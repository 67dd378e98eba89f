/**
 * A problem with the user's data (a malformed IDX file, a non-numeric CSV cell, a split larger
 * than the set): an expected failure, not a bug. The ML layer does not import the stage layer, so
 * the `dataset` stage turns these into StageFailures; the message already names the file (and
 * line) and says what to do.
 */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
