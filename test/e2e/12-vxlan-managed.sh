#!/usr/bin/env bash
# The VXLAN end-to-end scenario with the plugin run as a managed plugin (docker plugin create/enable).
LAUNCHER=managed exec bash "$(dirname "$0")/vxlan-scenario.sh"
