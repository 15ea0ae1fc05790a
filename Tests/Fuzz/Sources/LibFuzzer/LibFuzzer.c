// The declaration in include/LibFuzzer.h is all this module is; the definition comes from
// libFuzzer's runtime.
