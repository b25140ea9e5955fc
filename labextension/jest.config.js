/**
 * Jest: the extension's pure logic (src/model.ts), compiled by ts-jest; and JupyterLab's own output
 * model (@jupyterlab/outputarea, ES modules compiled by babel) for the lab_form stream vectors.
 */
// the ES-module packages @jupyterlab/testing's jest config lists, and @jupyterlab/* itself
const esModules = [
  '@jupyterlab/',
  '@codemirror',
  '@marijn',
  '@microsoft',
  '@jupyter/react-components',
  '@jupyter/web-components',
  '@jupyter/ydoc',
  'color',
  'exenv-es6',
  'lib0',
  'marked',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    '^.+\\.jsx?$': [
      'babel-jest',
      { presets: [['@babel/preset-env', { targets: { node: 'current' } }]] }
    ]
  },
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`],
  moduleNameMapper: {
    '\\.(css|less|sass|scss)$': 'identity-obj-proxy',
    '\\.svg$': '@jupyterlab/testing/lib/jest-file-mock.js'
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json']
};
