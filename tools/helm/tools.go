//go:build tools

// Package tools pins Helm, which scripts/helm.sh builds from this module for the chart tests
// (lint, template, install of deploy/helm/kontinue).
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
