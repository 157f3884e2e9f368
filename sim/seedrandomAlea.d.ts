/** seedrandom's Alea alone (seedrandom/lib/alea.js, CommonJS): @types/seedrandom types the index only. */
declare module "seedrandom/lib/alea.js" {
  import type seedrandom from "seedrandom";
  const alea: typeof seedrandom.alea;
  export default alea;
}
