/* placeholder until the binary lands */
#include "base.h"
int main(void) { return 0; }
