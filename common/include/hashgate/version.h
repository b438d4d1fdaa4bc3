/*
 * version.h - the hashgate version, one place for every binary.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef HASHGATE_VERSION_H
#define HASHGATE_VERSION_H

#define HG_VERSION  "0.1.0"

#endif
