package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/xinfang/petition-operator/api/v1alpha1"
	"github.com/xinfang/petition-operator/internal/registry"
	"github.com/xinfang/petition-operator/internal/xinfang"
)

// shape is what routing decides on: the office a petition is made to,
// the place of the matter, its type and category.
type shape struct {
	office, locality string
	typ              v1alpha1.PetitionType
	category         string
}

// petitions makes realistic bodies for POST /v1/petitions over a network:
// townships more often than counties, counties more often than the City,
// every category its routing policies name and some they do not, a third
// with a locality below the office, Online, Letter or Phone, a petitioner
// with a mobile number and sometimes an ID number, a description of a few
// sentences, sometimes a group.
type petitions struct {
	rng *rand.Rand
	// offices lists each office as often as it is chosen; here and local
	// hold the shapes the network answers for each, without and with a
	// locality.
	offices     []string
	here, local map[string][]shape
}

// categories are those the sample routing policies name, and some that
// no rule matches (handled where the petition is made).
var categories = []string{
	"land-acquisition", "housing-demolition", "wage-arrears", "social-insurance", "labour-contract",
	"pollution", "noise", "waste-dumping", "official-misconduct", "cadre-appointment",
	"court-judgment", "law-enforcement", "road-repair", "water-supply", "education", "medical-care",
}

// newPetitions lists the shapes net answers for on day.
func newPetitions(net *registry.Net, offices []v1alpha1.Office, day time.Time, seed uint64) (*petitions, error) {
	p := &petitions{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), here: map[string][]shape{}, local: map[string][]shape{}}
	children := map[string][]string{}
	for _, o := range offices {
		if o.Spec.Parent != "" && slices.Contains(xinfang.LocalityLevels, o.Spec.Level) {
			children[string(o.Spec.Parent)] = append(children[string(o.Spec.Parent)], o.Name)
		}
	}
	weight := map[v1alpha1.Level]int{v1alpha1.LevelTownship: 6, v1alpha1.LevelCounty: 2, v1alpha1.LevelCity: 1}
	for _, o := range offices {
		w := weight[o.Spec.Level]
		if w == 0 {
			continue
		}
		for _, locality := range append([]string{""}, children[o.Name]...) {
			for _, typ := range []v1alpha1.PetitionType{v1alpha1.PetitionAppeal, v1alpha1.PetitionReport, v1alpha1.PetitionInquiry} {
				for _, cat := range categories {
					pet := xinfang.Petition{Category: cat, Type: typ, Channel: v1alpha1.ChannelOnline}
					if _, err := net.Answer(o.Name, locality, pet, day); err != nil {
						continue
					}
					s := shape{o.Name, locality, typ, cat}
					if locality == "" {
						p.here[o.Name] = append(p.here[o.Name], s)
					} else {
						p.local[o.Name] = append(p.local[o.Name], s)
					}
				}
			}
		}
		if len(p.here[o.Name]) == 0 {
			continue
		}
		for range w {
			p.offices = append(p.offices, o.Name)
		}
	}
	if len(p.offices) == 0 {
		return nil, fmt.Errorf("no office of the network answers a petition on %s", day.Format(time.DateOnly))
	}
	return p, nil
}

// intakeBody is the JSON body of POST /v1/petitions.
type intakeBody struct {
	Office      string     `json:"office"`
	Type        string     `json:"type"`
	Category    string     `json:"category"`
	Channel     string     `json:"channel"`
	Locality    string     `json:"locality,omitempty"`
	Description string     `json:"description"`
	Petitioner  petitioner `json:"petitioner"`
	GroupSize   int        `json:"groupSize,omitempty"`
}

type petitioner struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	IDNumber string `json:"idNumber,omitempty"`
}

// next returns the body of the next petition.
func (p *petitions) next() []byte {
	office := p.offices[p.rng.IntN(len(p.offices))]
	shapes := p.here[office]
	if local := p.local[office]; len(local) > 0 && p.rng.IntN(3) == 0 {
		// A third of those to an office with places below it name one.
		shapes = local
	}
	s := shapes[p.rng.IntN(len(shapes))]
	b := intakeBody{Office: s.office, Type: string(s.typ), Category: s.category, Locality: s.locality,
		Channel: p.channel(), Description: p.description(), Petitioner: petitioner{Name: p.name(), Phone: p.phone()}}
	if p.rng.IntN(10) < 3 {
		b.Petitioner.IDNumber = p.idNumber()
	}
	if p.rng.IntN(20) == 0 {
		b.GroupSize = 2 + p.rng.IntN(30)
	}
	out, err := json.Marshal(b)
	if err != nil {
		panic(err)
	}
	return out
}

func (p *petitions) channel() string {
	switch n := p.rng.IntN(10); {
	case n < 6:
		return string(v1alpha1.ChannelOnline)
	case n < 8:
		return string(v1alpha1.ChannelLetter)
	}
	return string(v1alpha1.ChannelPhone)
}

var (
	surnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	givenNames = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文志新春生德福荣海林")
	sentences  = []string{
		"村里征地补偿款至今没有发放到位，多次找村委会都没有答复。",
		"工地老板拖欠我们十几个工人半年的工资，共计八万余元。",
		"小区旁边的工厂夜间排放刺鼻气体，附近居民无法正常休息。",
		"我家房屋在拆迁时被强行拆除，安置补偿标准明显低于周边。",
		"单位没有按规定为我缴纳养老保险和医疗保险。",
		"镇上的道路年久失修，雨天无法通行，学生上学很不安全。",
		"反映村干部在低保评定中优亲厚友、暗箱操作的问题。",
		"法院判决已经生效两年，对方一直不履行，申请强制执行也没有结果。",
		"自来水经常停水，水质发黄，希望有关部门尽快解决。",
		"养殖场粪污直排河道，河水发臭，鱼虾大量死亡。",
		"请求依法核实情况并给予书面答复。",
		"以上情况属实，恳请领导重视，尽快协调处理。",
		"附件为相关合同、收据和照片，请予以查阅。",
		"我已经向村里和镇里反映过三次，一直没有处理结果。",
	}
)

func (p *petitions) name() string {
	n := []rune{surnames[p.rng.IntN(len(surnames))]}
	for range 1 + p.rng.IntN(2) {
		n = append(n, givenNames[p.rng.IntN(len(givenNames))])
	}
	return string(n)
}

// phone is a mainland mobile number, written as people write it.
func (p *petitions) phone() string {
	prefixes := []string{"13", "15", "17", "18", "19"}
	d := prefixes[p.rng.IntN(len(prefixes))] + fmt.Sprintf("%09d", p.rng.IntN(1_000_000_000))
	if p.rng.IntN(4) == 0 {
		return d[:3] + " " + d[3:7] + " " + d[7:]
	}
	return d
}

// idNumber is a resident identity card number (GB 11643) with a valid
// birth date and check character.
func (p *petitions) idNumber() string {
	areas := []string{"411323", "411324", "411330", "411381", "411302", "410105"}
	birth := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, p.rng.IntN(60*365))
	body := areas[p.rng.IntN(len(areas))] + birth.Format("20060102") + fmt.Sprintf("%03d", p.rng.IntN(1000))
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range body {
		sum += int(c-'0') * weights[i]
	}
	return body + string("10X98765432"[sum%11])
}

// description is two to eight sentences.
func (p *petitions) description() string {
	var b strings.Builder
	for range 2 + p.rng.IntN(7) {
		b.WriteString(sentences[p.rng.IntN(len(sentences))])
	}
	return b.String()
}
