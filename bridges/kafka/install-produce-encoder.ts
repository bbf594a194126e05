/**
 * Puts encodeProduceBody (produce-encoder.ts) in place of kafkajs' own Produce encoding, through the one seam kafkajs
 * has for it: the protocol table of its Produce request (`kafkajs/src/protocol/requests/produce`), whose versions
 * 3–7 it wraps. Written against kafkajs 2.2.4, its last release; another version keeps its own encoder.
 */
import { createRequire } from 'node:module';
import { canEncode, encodeProduceBody, type ProduceArgs } from './produce-encoder.js';

const require = createRequire(import.meta.url);

/** The kafkajs version whose internals this replaces; another version keeps its own encoder. */
export const KAFKAJS_VERSION = '2.2.4';

interface KafkajsRequest {
  encode(): Promise<unknown>;
}
type ProduceVersion = (args: ProduceArgs) => { request: KafkajsRequest; response: unknown };
interface ProduceDefinition {
  versions: string[];
  protocol(options: { version: number }): ProduceVersion;
}

/**
 * Marks kafkajs' Produce definition once the encoder is in place. The mark lives on kafkajs' module (one per process,
 * in Node's require cache), not here: a second copy of this module (test runners load modules afresh per file)
 * must see it too and not wrap kafkajs twice.
 */
const INSTALLED = Symbol.for('integr8s.kafka.produce-encoder');

const kafkajsProduce = () => require('kafkajs/src/protocol/requests/produce/index.js') as ProduceDefinition & { [INSTALLED]?: true };

/** Whether installProduceEncoder() has put the encoder in place in this process. */
export const produceEncoderInstalled = (): boolean => kafkajsProduce()[INSTALLED] === true;

/**
 * Puts encodeProduceBody in place of kafkajs' Produce encoder (versions 3 and up), once per process; every kafkajs
 * producer of the process uses it from then on. Answers whether it is in place: false when kafkajs is not the
 * version it was written against, which then keeps its own encoder.
 */
export function installProduceEncoder(): boolean {
  const version = (require('kafkajs/package.json') as { version: string }).version;
  if (version !== KAFKAJS_VERSION) return false;
  const definition = kafkajsProduce();
  if (definition[INSTALLED]) return true;
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize?: number) => { buf: Buffer; offset: number };
  const original = definition.protocol.bind(definition);
  definition.protocol = ({ version: apiVersion }) => {
    const kafkajs = original({ version: apiVersion });
    if (apiVersion < 3) return kafkajs;
    return (args) => {
      const built = kafkajs(args);
      if (!canEncode(args)) return built;
      const encode = async () => {
        // kafkajs takes the body as an Encoder and copies it behind the request header.
        const body = new Encoder(0);
        body.buf = encodeProduceBody(args);
        body.offset = body.buf.length;
        return body;
      };
      return { ...built, request: { ...built.request, encode } };
    };
  };
  definition[INSTALLED] = true;
  return true;
}
