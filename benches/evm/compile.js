// Compiles ERC20.sol with the solc npm package (solcjs: the compiler is bundled in the
// package, so this runs offline once `npm install` has run) and writes:
//   ERC20.bin          creation bytecode (hex, no 0x), constructor(uint256 supply)
//   ERC20.bin-runtime  deployed bytecode (hex)
//   ERC20.abi.json     the ABI
//   ERC20.meta.json    compiler version and settings, for the record
// Deterministic: the same solc version and settings give the same bytes (metadata hash
// disabled so paths and comments do not leak into the bytecode).
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const here = __dirname;
const source = fs.readFileSync(path.join(here, 'ERC20.sol'), 'utf8');
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  metadata: { bytecodeHash: 'none', appendCBOR: false },
  outputSelection: {
    '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
  },
};
const input = { language: 'Solidity', sources: { 'ERC20.sol': { content: source } }, settings };
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

const contract = output.contracts['ERC20.sol'].ERC20;
const write = (name, text) => {
  fs.writeFileSync(path.join(here, name), text);
  console.log(`wrote benches/evm/${name} (${text.length} bytes)`);
};
write('ERC20.bin', contract.evm.bytecode.object + '\n');
write('ERC20.bin-runtime', contract.evm.deployedBytecode.object + '\n');
write('ERC20.abi.json', JSON.stringify(contract.abi, null, 2) + '\n');
write(
  'ERC20.meta.json',
  JSON.stringify({ compiler: 'solcjs ' + solc.version(), settings }, null, 2) + '\n',
);
