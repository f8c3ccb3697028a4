#!/usr/bin/env bash
# The VXLAN end-to-end scenario with the plugin run as a host binary.
LAUNCHER=host exec bash "$(dirname "$0")/vxlan-scenario.sh"
