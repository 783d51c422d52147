/**
 * Datasets: record types in TRL's column conventions, validators, streaming JSONL readers and the
 * chat template.
 * @module
 */
export type {
  ChatExample,
  ChatMessage,
  ChatRankingExample,
  ChatRole,
  PreferencePair,
  RankingExample,
  RecordLocation,
  SFTExample,
} from './types';
export { parseChat, parsePair, parseRanking, parseSFT, preferencePairsFromRanking, type ParseRankingOptions } from './validate';
export {
  readAll,
  readChat,
  readJsonl,
  readPairs,
  readRankings,
  readSFT,
  writeJsonlLine,
  type JsonlSource,
  type ReadJsonlOptions,
  type ReadRankingsOptions,
  type RecordParser,
} from './jsonl';
export { parseChatRanking } from './chat-ranking';
export { chatHeader, chatPrompt, tokenizeChat, tokenizeChatPrompt, type ChatTokens } from './chat-template';
