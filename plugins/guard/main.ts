// Entry of the guard process (filled by the guard work). Kept so the build has a stable entry.
export {};
