// kissfft (Debian libkissfft-dev), float build: the real FFT used for announcement fingerprints.
#include <kissfft/kiss_fftr.h>
