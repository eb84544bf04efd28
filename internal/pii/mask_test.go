package pii_test

import (
	"testing"

	"github.com/xinfang/petition-operator/internal/pii"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name string
		mask func(string) string
		in   string
		want string
	}{
		{"phone", pii.MaskPhone, "13812345678", "138****5678"},
		{"phone", pii.MaskPhone, "037763123456", "037*****3456"},
		{"phone", pii.MaskPhone, "0101234567", "010***4567"},
		{"phone", pii.MaskPhone, "1234567", "*******"},
		{"phone", pii.MaskPhone, "", ""},
		{"phone", pii.MaskPhone, "１３８１２３４５６７８", "１３８****５６７８"},
		{"id", pii.MaskIDNumber, "410303198001011234", "410303********1234"},
		{"id", pii.MaskIDNumber, "11010519491231002X", "110105********002X"},
		{"id", pii.MaskIDNumber, "410303800101123", "410303*****1123"},
		{"id", pii.MaskIDNumber, "4103031980", "**********"},
		{"name", pii.MaskName, "张", "*"},
		{"name", pii.MaskName, "张三", "张*"},
		{"name", pii.MaskName, "张小明", "张*明"},
		{"name", pii.MaskName, "欧阳小明", "欧**明"},
		{"name", pii.MaskName, " 张\u3000小明 ", "张**明"},
		{"name", pii.MaskName, "阿卜杜拉·艾则孜", "阿******孜"},
		{"name", pii.MaskName, "Li Ming", "L*****g"},
		{"name", pii.MaskName, "", ""},
	} {
		if got := tc.mask(tc.in); got != tc.want {
			t.Errorf("mask of a %s %q = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}
