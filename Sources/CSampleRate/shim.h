// libsamplerate (Debian libsamplerate0-dev): resampling prompts and calls to the analysis rate.
#include <samplerate.h>
