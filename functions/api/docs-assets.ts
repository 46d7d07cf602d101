/**
 * The files of the API documentation pages that come from npm packages,
 * shared by the API (functions/api/docs.ts, which serves them) and the CDK
 * app (cdk/lambda.ts, which copies them into the API Lambda's asset).
 */

export interface PackagedFile {
  /** The npm package that ships the file. */
  package: string;
  /** The file's path inside the package. */
  file: string;
  /** Where the pages load it from, relative to the API's root. */
  route: string;
  contentType: string;
  /**
   * Text replaced as the file is served: what the package would otherwise
   * fetch from another origin (the pages' Content-Security-Policy would block
   * it, with an error in the browser's console).
   */
  replace?: readonly (readonly [string, string])[];
}

/**
 * The folder, beside the Lambda's bundle, that holds these files as
 * `<package>/<file>`: the same layout as node_modules, so one lookup serves
 * both the Lambda (no node_modules there) and the local stack (which runs
 * beside an installed node_modules).
 */
export const DOCS_ASSET_DIR = 'docs-assets';

export const PACKAGED_FILES: readonly PackagedFile[] = [
  { package: 'swagger-ui-dist', file: 'swagger-ui-bundle.js', route: 'docs/swagger-ui-bundle.js', contentType: 'text/javascript; charset=utf-8' },
  { package: 'swagger-ui-dist', file: 'swagger-ui.css', route: 'docs/swagger-ui.css', contentType: 'text/css; charset=utf-8' },
  {
    package: 'redoc',
    file: 'bundles/redoc.standalone.js',
    route: 'redoc/redoc.standalone.js',
    contentType: 'text/javascript; charset=utf-8',
    // The side menu's "API docs by Redocly" logo, an image on Redocly's CDN with no option to turn it off;
    // an empty image fails to load, and Redoc then leaves it out (its onError handler).
    replace: [['https://cdn.redoc.ly/redoc/logo-mini.svg', 'data:,']],
  },
];
