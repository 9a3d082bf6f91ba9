import { describe } from "vitest";
import { describeShard } from "./sim-suite.js";

describe("PBFT simulation", () => describeShard(2));
