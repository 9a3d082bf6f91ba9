// sawtooth-sdk's processor and messaging modules need a real ZeroMQ; our tests use only its
// signing and protobuf modules, so loading this stub is an error on purpose.
throw new Error(
  "zeromq is not available: only sawtooth-sdk's signing and protobuf modules are supported here",
);
