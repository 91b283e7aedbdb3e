/** Types of with-node.mjs, for the tests that load it (it is plain JavaScript: it runs before the build). */

/** The Node.js release the project is tested on, and that the launcher installs. */
export declare const NODE_VERSION: string;

/** Whether `version` meets an engines range made of `>=X[.Y[.Z]]` and `^X.Y.Z` parts joined by `||`. */
export declare function satisfies(version: string, range: string): boolean;
